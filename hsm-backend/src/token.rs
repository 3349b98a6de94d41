//! A logged-in token (partition) with a session pool that recovers by itself.
//!
//! `cryptoki::Session` is `Send` but not `Sync`, so each operation borrows a session from
//! the pool for its duration. Login is application-wide per token and closing every session
//! logs the application out, so one "keeper" session stays open and logged in.
//!
//! Recovery: when an operation fails because the session or login is gone
//! (`CKR_SESSION_HANDLE_INVALID`, `CKR_SESSION_CLOSED`, `CKR_USER_NOT_LOGGED_IN`, stale
//! object handles) or the device went away (`CKR_DEVICE_ERROR`, `CKR_TOKEN_NOT_PRESENT`, …),
//! the token drops all its sessions, finds its slot again by label (re-initialising the
//! module if the device was lost), logs in again and retries the operation once. While the
//! device is still away, operations fail at once with a [`RvClass::DeviceLost`] error
//! ([`Error::TokenUnreachable`] once reconnecting failed) and each one tries to reconnect.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;

use crate::error::{Error, Result, RvClass};
use crate::module::{login_error, Module};
use crate::pin::Pin;

/// Most idle sessions kept in the pool; more are closed when returned.
const MAX_IDLE_SESSIONS: usize = 32;

struct Logged {
    slot: Slot,
    keeper: Session,
}

/// A token opened with the Crypto User PIN.
pub struct Token {
    pub(crate) module: Arc<Module>,
    label: String,
    user_pin: Pin,
    logged: Mutex<Option<Logged>>,
    pool: Mutex<Vec<(u64, Session)>>,
    generation: AtomicU64,
    recoveries: AtomicU64,
    /// Counted in the module's `open_tokens`.
    counted: bool,
}

impl Drop for Token {
    fn drop(&mut self) {
        // Only tokens that finished opening were counted.
        if self.counted {
            self.module.open_tokens.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("module", &self.module.path())
            .field("label", &self.label)
            .field("user_pin", &self.user_pin)
            .finish()
    }
}

/// What [`Token::status`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStatus {
    /// Module path.
    pub module: String,
    /// Library manufacturer, description and version.
    pub library: String,
    /// Token label.
    pub label: String,
    /// Token manufacturer.
    pub manufacturer: String,
    /// Token model.
    pub model: String,
    /// Token serial number.
    pub serial: String,
    /// Whether this process is logged in as Crypto User.
    pub logged_in: bool,
    /// How many times the token rebuilt its sessions after a failure.
    pub recoveries: u64,
}

impl Token {
    /// Finds the token by label and logs in as Crypto User.
    ///
    /// A module lists its tokens when it is initialised, and SoftHSM2 skips a token whose
    /// files another process is rewriting at that moment (every login rewrites them), or
    /// answers `CKR_GENERAL_ERROR` while reading it. So when the token is not found or the
    /// device seems lost, and nothing else of this module is open in this process, the
    /// module is initialised again and the search repeated, five times at most, before the
    /// error is reported.
    pub fn open(module: Arc<Module>, label: &str, user_pin: Pin) -> Result<Arc<Token>> {
        let mut attempt = 0;
        loop {
            match Self::open_once(module.clone(), label, user_pin.clone()) {
                Err(e)
                    if (matches!(e, Error::TokenNotFound { .. })
                        || e.class() == Some(RvClass::DeviceLost)
                        || matches!(&e, Error::Pkcs11 { rv, .. } if rv == "CKR_USER_PIN_NOT_INITIALIZED"))
                        && attempt < 5
                        && module.open_tokens.load(Ordering::Acquire) == 0 =>
                {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20 << attempt));
                    module.reinitialize()?;
                }
                other => return other,
            }
        }
    }

    fn open_once(module: Arc<Module>, label: &str, user_pin: Pin) -> Result<Arc<Token>> {
        let mut token = Token {
            module,
            label: label.to_string(),
            user_pin,
            logged: Mutex::new(None),
            pool: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            recoveries: AtomicU64::new(0),
            counted: false,
        };
        {
            let mut logged = token.logged.lock().unwrap_or_else(|p| p.into_inner());
            *logged = Some(token.login()?);
        }
        token.module.open_tokens.fetch_add(1, Ordering::AcqRel);
        token.counted = true;
        Ok(Arc::new(token))
    }

    /// The token label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The module this token lives in.
    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }

    fn login(&self) -> Result<Logged> {
        let slot = self.module.find_slot(&self.label)?;
        let keeper =
            self.module.ctx.open_rw_session(slot).map_err(|e| {
                Error::p11(e, format!("opening a session on token {:?}", self.label))
            })?;
        match keeper.login(UserType::User, Some(&self.user_pin.auth())) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(login_error(e, "user", &self.label)),
        }
        Ok(Logged { slot, keeper })
    }

    /// Drops every session and logs in again, unless another thread already did so since
    /// `seen_generation`. `cause` is the failure that asked for it.
    ///
    /// The module is re-initialised (`C_Finalize` + `C_Initialize`) when the device was lost:
    /// a network HSM's client module reconnects only in `C_Initialize`. p11-kit's client,
    /// initialised while its server is away, succeeds but lists no slots until it is
    /// initialised again; the token missing after a re-initialisation is therefore reported
    /// as [`Error::TokenUnreachable`], and the next operation re-initialises again.
    fn recover(&self, seen_generation: u64, cause: &Error) -> Result<()> {
        let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::SeqCst) != seen_generation && logged.is_some() {
            return Ok(());
        }
        let device_lost = matches!(cause.class(), Some(RvClass::DeviceLost));
        tracing::warn!(token = %self.label, device_lost, %cause, "rebuilding PKCS#11 sessions");
        // Pooled sessions and the keeper are closed here, before any re-initialisation.
        // Sessions other threads still hold are closed when they come back (their generation
        // is stale). After a re-initialisation that close usually fails and is only logged;
        // at worst it closes a new session that reuses the handle, and the operation that
        // meets it recovers again.
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).clear();
        *logged = None;
        self.generation.fetch_add(1, Ordering::SeqCst);
        let fresh = match self.login() {
            Ok(l) => l,
            Err(e) if device_lost || matches!(e.class(), Some(RvClass::DeviceLost)) => {
                self.module.reinitialize()?;
                self.login().map_err(|e| match e {
                    Error::TokenNotFound { present, .. } => Error::TokenUnreachable {
                        label: self.label.clone(),
                        reason: format!(
                            "{}; re-initialising the module did not bring it back \
                             (present tokens: {present})",
                            match cause {
                                Error::TokenUnreachable { reason, .. } => reason.clone(),
                                other => other.to_string(),
                            }
                        ),
                    },
                    other => other,
                })?
            }
            Err(e) => return Err(e),
        };
        *logged = Some(fresh);
        self.recoveries.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn checkout(&self) -> Result<(u64, Session)> {
        let generation = self.generation.load(Ordering::SeqCst);
        {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            while let Some((g, s)) = pool.pop() {
                if g == generation {
                    return Ok((g, s));
                }
            }
        }
        let slot = {
            let logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
            match logged.as_ref() {
                Some(l) => l.slot,
                // The last recovery failed (the device is away or still unreachable). This
                // error makes `with_session` try to recover, and reconnect, again.
                None => {
                    return Err(Error::TokenUnreachable {
                        label: self.label.clone(),
                        reason: "not logged in again since an earlier recovery failed".into(),
                    })
                }
            }
        };
        let s =
            self.module.ctx.open_rw_session(slot).map_err(|e| {
                Error::p11(e, format!("opening a session on token {:?}", self.label))
            })?;
        Ok((generation, s))
    }

    fn checkin(&self, generation: u64, session: Session) {
        if generation != self.generation.load(Ordering::SeqCst) {
            return;
        }
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < MAX_IDLE_SESSIONS {
            pool.push((generation, session));
        }
    }

    /// Runs `op` on a pooled, logged-in session; rebuilds sessions and retries once when the
    /// session, login or device was lost. `op` receives the generation so it can drop cached
    /// object handles from an older one.
    pub(crate) fn with_session<T>(
        &self,
        context: &str,
        mut op: impl FnMut(&Session, u64) -> std::result::Result<T, CkError>,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (generation, session) = match self.checkout() {
                Ok(s) => s,
                Err(e) if attempt == 1 && is_recoverable(&e) => {
                    self.recover(self.generation.load(Ordering::SeqCst), &e)?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match op(&session, generation) {
                Ok(v) => {
                    self.checkin(generation, session);
                    return Ok(v);
                }
                Err(e) => {
                    let err = Error::p11(e, context.to_string());
                    drop(session);
                    if attempt == 1 && is_recoverable(&err) {
                        self.recover(generation, &err)?;
                        continue;
                    }
                    return Err(err);
                }
            }
        }
    }

    /// Module, token and login state.
    pub fn status(&self) -> Result<TokenStatus> {
        // SoftHSM2 answers CKR_GENERAL_ERROR while another process rewrites the token's
        // files: a read is tried again a few times before the device counts as lost.
        let mut attempt = 0;
        let info = loop {
            let read = self.module.find_slot(&self.label).and_then(|slot| {
                self.module
                    .ctx
                    .get_token_info(slot)
                    .map_err(|e| Error::p11(e, "reading token info"))
            });
            match read {
                Err(e) if e.class() == Some(RvClass::DeviceLost) && attempt < 5 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20 << attempt));
                }
                other => break other?,
            }
        };
        let logged_in = {
            let logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
            logged
                .as_ref()
                .and_then(|l| l.keeper.get_session_info().ok())
                .map(|i| {
                    matches!(
                        i.session_state(),
                        SessionState::RwUser | SessionState::RoUser
                    )
                })
                .unwrap_or(false)
        };
        Ok(TokenStatus {
            module: self.module.path().display().to_string(),
            library: self.module.library_description(),
            label: self.label.clone(),
            manufacturer: info.manufacturer_id().trim_end().to_string(),
            model: info.model().trim_end().to_string(),
            serial: info.serial_number().trim_end().to_string(),
            logged_in,
            recoveries: self.recoveries.load(Ordering::Relaxed),
        })
    }
}

fn is_recoverable(e: &Error) -> bool {
    matches!(
        e.class(),
        Some(RvClass::SessionLost) | Some(RvClass::DeviceLost)
    )
}
