//! Loading a PKCS#11 module and managing its tokens (partitions).
//!
//! PKCS#11 state is process-wide: `C_Initialize` may run once per process and module, and
//! login is per application and token. A module is therefore loaded once per path and
//! shared ([`Module::load`] returns the same `Arc` for the same path).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::UserType;
use cryptoki::slot::Slot;

use crate::error::{Error, Result};
use crate::pin::Pin;

/// Where Debian's SoftHSM2 package installs its module.
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A loaded and initialised PKCS#11 module.
pub struct Module {
    pub(crate) ctx: Pkcs11,
    path: PathBuf,
    /// Serialises `C_Finalize`/`C_Initialize` after a device loss and token creation.
    pub(crate) admin: Mutex<()>,
    /// Tokens of this module open in this process (see `Token::open`).
    pub(crate) open_tokens: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("path", &self.path).finish()
    }
}

/// A token as the module reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSummary {
    /// Token label (trailing blanks removed).
    pub label: String,
    /// Manufacturer ID.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// Serial number.
    pub serial: String,
    /// Whether the user PIN has been set.
    pub user_pin_initialized: bool,
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Arc<Module>>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Arc<Module>>>> = OnceLock::new();
    MODULES.get_or_init(|| Mutex::new(HashMap::new()))
}

fn initialize(ctx: &Pkcs11) -> std::result::Result<(), CkError> {
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

impl Module {
    /// Loads (once per process) and initialises the module at `path`.
    pub fn load(path: &Path) -> Result<Arc<Module>> {
        let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = reg.get(path) {
            return Ok(m.clone());
        }
        let load_err = |reason: String| Error::ModuleLoad {
            path: path.to_path_buf(),
            reason,
        };
        if !path.exists() {
            return Err(load_err("no such file".into()));
        }
        let ctx = Pkcs11::new(path).map_err(|e| load_err(e.to_string()))?;
        initialize(&ctx).map_err(|e| load_err(format!("C_Initialize: {e}")))?;
        let module = Arc::new(Module {
            ctx,
            path: path.to_path_buf(),
            admin: Mutex::new(()),
            open_tokens: std::sync::atomic::AtomicUsize::new(0),
        });
        reg.insert(path.to_path_buf(), module.clone());
        Ok(module)
    }

    /// The module's file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Library manufacturer and description, as the module reports them.
    pub fn library_description(&self) -> String {
        match self.ctx.get_library_info() {
            Ok(i) => format!(
                "{} {} {}.{}",
                i.manufacturer_id().trim(),
                i.library_description().trim(),
                i.library_version().major(),
                i.library_version().minor()
            ),
            Err(e) => format!("unknown ({e})"),
        }
    }

    /// Finalises and re-initialises the module after the device went away. Every session
    /// of every token is gone afterwards; tokens rebuild theirs on next use.
    pub(crate) fn reinitialize(&self) -> Result<()> {
        let _g = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        let _ = self.ctx.clone().finalize();
        initialize(&self.ctx).map_err(|e| Error::p11(e, "re-initialising the module"))
    }

    /// Initialised tokens in the module.
    pub fn tokens(&self) -> Result<Vec<TokenSummary>> {
        let slots = self
            .ctx
            .get_slots_with_initialized_token()
            .map_err(|e| Error::p11(e, "listing slots"))?;
        let mut out = Vec::new();
        for slot in slots {
            let info = self
                .ctx
                .get_token_info(slot)
                .map_err(|e| Error::p11(e, "reading token info"))?;
            out.push(TokenSummary {
                label: info.label().trim_end().to_string(),
                manufacturer: info.manufacturer_id().trim_end().to_string(),
                model: info.model().trim_end().to_string(),
                serial: info.serial_number().trim_end().to_string(),
                user_pin_initialized: info.user_pin_initialized(),
            });
        }
        Ok(out)
    }

    /// The slot holding the initialised token labelled `label`. Slots are never remembered
    /// across calls by callers: SoftHSM2 renumbers them when a token is created.
    pub(crate) fn find_slot(&self, label: &str) -> Result<Slot> {
        let slots = self
            .ctx
            .get_slots_with_initialized_token()
            .map_err(|e| Error::p11(e, "listing slots"))?;
        let mut present = Vec::new();
        for slot in slots {
            let info = self
                .ctx
                .get_token_info(slot)
                .map_err(|e| Error::p11(e, "reading token info"))?;
            let l = info.label().trim_end();
            if l == label {
                return Ok(slot);
            }
            present.push(format!("{l:?}"));
        }
        Err(Error::TokenNotFound {
            label: label.to_string(),
            module: self.path.display().to_string(),
            present: if present.is_empty() {
                "none".into()
            } else {
                present.join(", ")
            },
        })
    }

    /// Security Officer operation: creates a token labelled `label` in a free slot with
    /// `so_pin`, then sets its user (Crypto User) PIN.
    pub fn init_token(&self, label: &str, so_pin: &Pin, user_pin: &Pin) -> Result<()> {
        validate_token_label(label)?;
        let _g = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        match self.find_slot(label) {
            Ok(_) => return Err(Error::TokenExists(label.to_string())),
            Err(Error::TokenNotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let free = self
            .ctx
            .get_slots_with_token()
            .map_err(|e| Error::p11(e, "listing slots"))?
            .into_iter()
            .find(|s| {
                self.ctx
                    .get_token_info(*s)
                    .map(|i| !i.token_initialized())
                    .unwrap_or(false)
            })
            .ok_or_else(|| Error::NoFreeSlot(self.path.display().to_string()))?;
        self.ctx
            .init_token(free, &so_pin.auth(), label)
            .map_err(|e| Error::p11(e, format!("initialising token {label:?}")))?;
        let slot = self.find_slot(label)?;
        let session = self
            .ctx
            .open_rw_session(slot)
            .map_err(|e| Error::p11(e, "opening an SO session"))?;
        session
            .login(UserType::So, Some(&so_pin.auth()))
            .map_err(|e| login_error(e, "SO", label))?;
        session
            .init_pin(&user_pin.auth())
            .map_err(|e| Error::p11(e, "setting the user PIN"))?;
        let _ = session.logout();
        Ok(())
    }

    /// Security Officer login check: succeeds when `so_pin` opens the token.
    pub fn check_so_pin(&self, label: &str, so_pin: &Pin) -> Result<()> {
        let slot = self.find_slot(label)?;
        let session = self
            .ctx
            .open_rw_session(slot)
            .map_err(|e| Error::p11(e, "opening an SO session"))?;
        session
            .login(UserType::So, Some(&so_pin.auth()))
            .map_err(|e| login_error(e, "SO", label))?;
        let _ = session.logout();
        Ok(())
    }
}

pub(crate) fn login_error(e: CkError, role: &'static str, token: &str) -> Error {
    match e {
        CkError::Pkcs11(
            rv @ (RvError::PinIncorrect | RvError::PinLenRange | RvError::PinInvalid),
            _,
        ) => Error::WrongPin {
            role,
            token: token.to_string(),
            rv: crate::error::rv_name(rv),
        },
        other => Error::p11(other, format!("logging in as {role} to token {token:?}")),
    }
}

fn validate_token_label(label: &str) -> Result<()> {
    if label.is_empty()
        || label.len() > 32
        || !label.chars().all(|c| c.is_ascii_graphic() || c == ' ')
    {
        return Err(Error::Invalid {
            what: "token label",
            reason: format!("{label:?} must be 1 to 32 printable ASCII characters"),
        });
    }
    if label.ends_with(' ') {
        return Err(Error::Invalid {
            what: "token label",
            reason: "it must not end with a blank (PKCS#11 pads labels with blanks)".into(),
        });
    }
    Ok(())
}
