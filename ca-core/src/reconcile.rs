//! Resolving `pending` records left by a crash between "record" and "store signed"
//! (architecture invariant 2). A pending record's TBS was linted before it was recorded;
//! reconciliation checks it again and either signs exactly those bytes (completing the
//! issuance) or revokes the serial. A pending serial stays revocable throughout and is
//! never reported as good.

use chrono::{Duration, NaiveDateTime};

use crate::error::Result;
use crate::issuer::Issuer;
use crate::lint::{lint_tbs, IssuerFacts};
use crate::revocation::{revoke, Reason, RevocationPolicy};
use crate::serial::Serial;
use crate::store::{CertFilter, CertStatus, CertificateStore};

/// What happened to one pending record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Signed and stored as issued.
    Completed,
    /// Revoked (cessationOfOperation): the subscriber never received it.
    Revoked,
    /// Left pending; the reason says why.
    Failed(String),
}

/// How to resolve pending records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Sign the recorded TBS and store the certificate.
    Complete,
    /// Revoke the serial.
    Revoke,
}

/// Resolves every pending record created before `now − min_age`. `issuer_for` returns the
/// issuer of a CA by name, or why it is unavailable (recorded as that record's failure);
/// it is only called in [`Mode::Complete`].
pub fn reconcile(
    certs: &dyn CertificateStore,
    issuer_for: &mut dyn FnMut(&str) -> std::result::Result<Issuer, String>,
    mode: Mode,
    min_age: Duration,
    actor: &str,
    now: NaiveDateTime,
) -> Result<Vec<(Serial, Outcome)>> {
    let pending = certs.list_certificates(&CertFilter {
        status: Some(CertStatus::Pending),
        ..CertFilter::default()
    })?;
    let mut out = Vec::new();
    for rec in pending {
        let p = &rec.pending;
        if p.created_at > now - min_age {
            continue;
        }
        let outcome = match mode {
            Mode::Revoke => match revoke(
                certs,
                &p.serial,
                Reason::CessationOfOperation,
                None,
                RevocationPolicy::default(),
                actor,
                now,
            ) {
                Ok(_) => Outcome::Revoked,
                Err(e) => Outcome::Failed(e.to_string()),
            },
            Mode::Complete => {
                let attempt = issuer_for(&p.ca_name).and_then(|issuer| {
                    lint_tbs(
                        &p.tbs_der,
                        &IssuerFacts {
                            self_signed: false,
                            not_after: None,
                        },
                    )
                    .and_then(|_| issuer.sign_recorded(p, certs, actor, now, "cert.reconcile"))
                    .map_err(|e| e.to_string())
                });
                match attempt {
                    Ok(_) => Outcome::Completed,
                    Err(e) => Outcome::Failed(e),
                }
            }
        };
        out.push((p.serial.clone(), outcome));
    }
    Ok(out)
}
