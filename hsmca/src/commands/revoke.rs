//! `hsmca revoke`: returns only after the revocation is committed.

use ca_core::clock::{Clock, SystemClock};
use ca_core::revocation::{revoke, Reason, RevocationPolicy};
use ca_core::serial::Serial;

use crate::cli::RevokeArgs;
use crate::context::Env;
use crate::error::{CliError, CliResult};

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
    let store = env.open_store()?;
    let r = revoke(
        &store,
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
    Ok(())
}
