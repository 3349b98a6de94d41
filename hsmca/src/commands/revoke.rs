//! `hsmca revoke`: returns only after the revocation is committed.

use ca_core::clock::{Clock, SystemClock};
use ca_core::revocation::{revoke, Reason, RevocationPolicy};
use ca_core::serial::Serial;

use std::sync::Arc;

use ocsp_responder::nudge;
use ocsp_responder::service::{self, Parts};

use crate::cli::RevokeArgs;
use crate::context::Env;
use crate::error::{CliError, CliResult};
use crate::runtime;

const ACTOR: &str = "crypto-officer:cli";

pub(crate) fn run(env: &Env, a: &RevokeArgs) -> CliResult {
    let serial = Serial::parse(&a.serial).map_err(CliError::input)?;
    let reason = Reason::parse(&a.reason)?;
    let invalidity = match &a.invalidity_date {
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| {
                    CliError::input(format!(
                        "--invalidity-date {t:?} is not an RFC 3339 time (2026-01-31T12:00:00Z): {e}"
                    ))
                })?
                .naive_utc(),
        ),
        None => None,
    };
    let policy = RevocationPolicy {
        allow_certificate_hold: env.config.issuance.allow_certificate_hold,
    };
    let store = Arc::new(env.open_store()?);
    let r = revoke(
        store.as_ref(),
        &serial,
        reason,
        invalidity,
        policy,
        ACTOR,
        SystemClock.now(),
    )?;
    eprintln!(
        "hsmca: revoked {} ({}) at {}Z",
        r.serial,
        reason.name(),
        r.revoked_at.format("%Y-%m-%d %H:%M:%S")
    );
    resign_ocsp(env, store, &serial);
    Ok(())
}

/// Re-signs the serial's OCSP response as revoked and wakes local responders. The
/// revocation is already committed and its stale mark stops any `good` answer from the
/// store, so a failure here is reported but does not fail the command: responders then
/// sign on demand.
fn resign_ocsp(env: &Env, store: Arc<ca_store::Store>, serial: &Serial) {
    if !env.config.ocsp.enabled {
        return;
    }
    let outcome = env
        .open_token()
        .map_err(|e| e.to_string())
        .and_then(|token| {
            let parts = Parts {
                token,
                store,
                profiles: runtime::profiles(env).map_err(|e| e.to_string())?,
                clock: Arc::new(SystemClock),
                config: env.config.ocsp.clone(),
            };
            service::resign_serial(&parts, serial).map_err(|e| e.to_string())
        });
    match outcome {
        Ok(true) => eprintln!("hsmca: OCSP response re-signed: revoked"),
        Ok(false) => eprintln!(
            "hsmca: no OCSP responder key yet; responders will sign the revoked answer on demand"
        ),
        Err(e) => eprintln!(
            "hsmca: warning: could not re-sign the OCSP response ({e}); responders will sign the revoked answer on demand"
        ),
    }
    let woken = nudge::poke_all(&env.data.run_dir());
    if woken > 0 {
        eprintln!("hsmca: {woken} local OCSP responder(s) updated");
    }
}
