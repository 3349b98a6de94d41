//! Starting a responder over the store and HSM, its background work, and re-signing one
//! serial after a revocation (what `hsmca revoke` does before it returns).

use std::sync::Arc;
use std::time::Duration;

use ca_core::clock::Clock;
use ca_core::ocsp::status::UnknownSerials;
use ca_core::serial::Serial;
use ca_core::store::{CaRecord, CertStatus};
use hsm_backend::Token;
use profiles::ProfileSet;

use crate::ca::CaResponder;
use crate::config::{OcspConfig, SignerMode, UnknownPolicy};
use crate::engine::Responder;
use crate::error::{Error, Result};
use crate::signer::{current_key, delegated_key, ensure_delegated};
use crate::ResponderStore;

/// What a responder needs from the rest of the system.
#[derive(Clone)]
pub struct Parts {
    /// The HSM token (Crypto User).
    pub token: Arc<Token>,
    /// The store.
    pub store: Arc<dyn ResponderStore>,
    /// Profiles (for `ocsp-signing`).
    pub profiles: ProfileSet,
    /// Time.
    pub clock: Arc<dyn Clock + Send + Sync>,
    /// `[ocsp]`.
    pub config: OcspConfig,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("token", &self.token.label())
            .finish_non_exhaustive()
    }
}

/// The CAs to serve: `ocsp.cas`, or every CA in the store.
fn served_cas(parts: &Parts) -> Result<Vec<CaRecord>> {
    let all = parts.store.list_cas()?;
    match &parts.config.cas {
        None => Ok(all),
        Some(names) => names
            .iter()
            .map(|n| {
                all.iter().find(|c| &c.name == n).cloned().ok_or_else(|| {
                    Error::Setup(format!(
                        "ocsp.cas names {n:?}, which is not a CA in the store"
                    ))
                })
            })
            .collect(),
    }
}

/// The key that signs for `ca` now, creating or renewing a delegated responder if needed.
fn signing_key(parts: &Parts, ca: &CaRecord) -> Result<crate::ca::ResponderKey> {
    match parts.config.signer {
        SignerMode::Ca => current_key(&parts.token, parts.store.as_ref(), ca, SignerMode::Ca)?
            .ok_or_else(|| Error::Setup(format!("CA {:?} has no key", ca.name))),
        SignerMode::Delegated => {
            let record = delegated_record(parts, ca)?;
            delegated_key(&parts.token, ca, &record)
        }
    }
}

/// The CA's delegated responder that can sign now, created or renewed if needed.
fn delegated_record(parts: &Parts, ca: &CaRecord) -> Result<ca_core::store::OcspSignerRecord> {
    ensure_delegated(
        &parts.token,
        parts.store.as_ref(),
        &parts.profiles,
        ca,
        &parts.config,
        parts.clock.now(),
    )
}

/// Builds the responder: a signing key per CA (delegated responders created as needed),
/// then every stored pre-signed response loaded into memory.
pub fn start(parts: &Parts) -> Result<Arc<Responder>> {
    parts.config.validate().map_err(Error::Setup)?;
    let mut cas = Vec::new();
    for ca in served_cas(parts)? {
        let key = signing_key(parts, &ca)?;
        cas.push(CaResponder::new(&ca, key)?);
    }
    if cas.is_empty() {
        return Err(Error::Setup(
            "there is no CA to answer for; run `hsmca init`".into(),
        ));
    }
    let responder = Arc::new(Responder::new(
        cas,
        parts.config.clone(),
        parts.store.clone(),
    ));
    let loaded = responder.follow()?;
    tracing::info!(loaded, "pre-signed OCSP responses loaded into memory");
    Ok(responder)
}

/// Runs the background work on two threads until the process ends: following the store's
/// change feed every `follow_interval_ms`, and every `refresh_interval_seconds` renewing
/// delegated responders and signing what is due. Failures are logged and counted; memory
/// keeps being served meanwhile.
pub fn spawn_background(parts: Parts, responder: Arc<Responder>) -> Result<()> {
    let follow_every = Duration::from_millis(parts.config.follow_interval_ms);
    let r = responder.clone();
    std::thread::Builder::new()
        .name("ocsp-follow".into())
        .spawn(move || loop {
            std::thread::sleep(follow_every);
            if let Err(e) = r.follow() {
                crate::metrics::inc(&r.metrics().background_failures);
                tracing::warn!(error = %e, "could not read the OCSP change feed");
            }
        })
        .map_err(|e| Error::Setup(format!("cannot start a thread: {e}")))?;
    let refresh_every = Duration::from_secs(parts.config.refresh_interval_seconds);
    std::thread::Builder::new()
        .name("ocsp-refresh".into())
        .spawn(move || loop {
            if let Err(e) = refresh_once(&parts, &responder) {
                crate::metrics::inc(&responder.metrics().background_failures);
                tracing::warn!(error = %e, "OCSP refresh failed; will retry");
            }
            std::thread::sleep(refresh_every);
        })
        .map_err(|e| Error::Setup(format!("cannot start a thread: {e}")))?;
    Ok(())
}

/// One refresher pass: adopt or renew each CA's responder, then sign what is due.
pub fn refresh_once(parts: &Parts, responder: &Responder) -> Result<usize> {
    for (i, ca) in responder.cas().iter().enumerate() {
        if parts.config.signer == SignerMode::Delegated {
            let record = parts.store.ca(&ca.name)?.ok_or_else(|| {
                Error::Setup(format!("CA {:?} is no longer in the store", ca.name))
            })?;
            // The key is loaded from the HSM only when the responder changed (renewed here
            // or by another node), not on every pass.
            let signer = delegated_record(parts, &record)?;
            if signer.key_label != ca.key().label {
                responder.adopt_key(i, delegated_key(&parts.token, &record, &signer)?);
            }
        }
    }
    let n = responder.refresh(parts.clock.now())?;
    if n > 0 {
        tracing::info!(signed = n, "pre-signed OCSP responses");
    }
    Ok(n)
}

/// After a revocation commit: signs the serial's `revoked` response and stores it, so
/// responders serve it from memory. `Ok(false)` when there is nothing to sign with yet
/// (delegated signing and no responder created), in which case the stale mark the
/// revocation left makes responders sign on demand.
pub fn resign_serial(parts: &Parts, serial: &Serial) -> Result<bool> {
    let Some(record) = parts.store.certificate(serial)? else {
        return Ok(false);
    };
    if record.status != CertStatus::Revoked {
        return Ok(false);
    }
    let Some(ca) = parts.store.ca(&record.pending.ca_name)? else {
        return Ok(false);
    };
    let Some(key) = current_key(&parts.token, parts.store.as_ref(), &ca, parts.config.signer)?
    else {
        return Ok(false);
    };
    let now = parts.clock.now();
    if key.not_after.is_some_and(|end| end <= now) {
        // The newest responder has expired (no `hsmca serve` renewed it): a response it
        // signed would not verify. `hsmca serve` renews it and signs on demand.
        return Ok(false);
    }
    let responder = CaResponder::new(&ca, key.clone())?;
    let unknown = match parts.config.unknown_serials {
        UnknownPolicy::Unknown => UnknownSerials::Unknown,
        UnknownPolicy::Revoked => UnknownSerials::Revoked,
    };
    let signed = Responder::presign(
        &responder,
        &key,
        &record,
        unknown,
        parts.config.validity(),
        now,
    )?;
    Ok(parts.store.put_ocsp_responses(&[signed])?.first() == Some(&true))
}
