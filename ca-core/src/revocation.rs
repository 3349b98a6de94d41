//! Revocation (RFC 5280 §5.3.1 reason codes), acknowledged only after the store commits
//! (architecture invariant 3).
//!
//! ```text
//! CRLReason ::= ENUMERATED {
//!      unspecified (0), keyCompromise (1), cACompromise (2), affiliationChanged (3),
//!      superseded (4), cessationOfOperation (5), certificateHold (6),
//!      -- value 7 is not used
//!      removeFromCRL (8), privilegeWithdrawn (9), aACompromise (10) }
//! ```

use chrono::NaiveDateTime;

use crate::error::{Error, Result};
use crate::serial::Serial;
use crate::store::{AuditEvent, CertificateStore, Revocation, StoreError};

/// A revocation reason that may be given when revoking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// unspecified (0).
    Unspecified,
    /// keyCompromise (1).
    KeyCompromise,
    /// cACompromise (2).
    CaCompromise,
    /// affiliationChanged (3).
    AffiliationChanged,
    /// superseded (4).
    Superseded,
    /// cessationOfOperation (5).
    CessationOfOperation,
    /// certificateHold (6), only when the policy allows holds.
    CertificateHold,
    /// privilegeWithdrawn (9).
    PrivilegeWithdrawn,
    /// aACompromise (10).
    AaCompromise,
}

const NAMES: [(Reason, &str, u8); 9] = [
    (Reason::Unspecified, "unspecified", 0),
    (Reason::KeyCompromise, "keyCompromise", 1),
    (Reason::CaCompromise, "cACompromise", 2),
    (Reason::AffiliationChanged, "affiliationChanged", 3),
    (Reason::Superseded, "superseded", 4),
    (Reason::CessationOfOperation, "cessationOfOperation", 5),
    (Reason::CertificateHold, "certificateHold", 6),
    (Reason::PrivilegeWithdrawn, "privilegeWithdrawn", 9),
    (Reason::AaCompromise, "aACompromise", 10),
];

impl Reason {
    /// Parses an RFC 5280 name, case-insensitively, with or without `-`/`_`
    /// (`keyCompromise`, `key-compromise`, `KEY_COMPROMISE`).
    pub fn parse(text: &str) -> Result<Reason> {
        let norm = |s: &str| s.replace(['-', '_'], "").to_ascii_lowercase();
        let want = norm(text);
        if want == "removefromcrl" {
            return Err(Error::invalid(
                "reason",
                "removeFromCRL only appears in delta CRLs; it cannot be given when revoking",
            ));
        }
        NAMES
            .iter()
            .find(|(_, n, _)| norm(n) == want)
            .map(|(r, _, _)| *r)
            .ok_or_else(|| {
                Error::invalid(
                    "reason",
                    format!(
                        "{text:?} is not one of {}",
                        NAMES.map(|(_, n, _)| n).join(", ")
                    ),
                )
            })
    }

    /// The CRLReason code.
    pub fn code(self) -> u8 {
        NAMES
            .iter()
            .find(|(r, _, _)| *r == self)
            .map(|x| x.2)
            .unwrap_or(0)
    }

    /// The RFC 5280 name.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(r, _, _)| *r == self)
            .map(|x| x.1)
            .unwrap_or("unspecified")
    }

    /// The reason for a stored code.
    pub fn from_code(code: u8) -> Option<Reason> {
        NAMES.iter().find(|(_, _, c)| *c == code).map(|x| x.0)
    }
}

/// The ASN.1 `CRLReason` (RFC 5280 §5.3.1) of a stored reason code, as CRL entries and OCSP
/// `RevokedInfo` carry it; `None` for codes that do not exist (7, above 10).
pub fn crl_reason(code: u8) -> Option<x509_cert::ext::pkix::CrlReason> {
    use x509_cert::ext::pkix::CrlReason as R;
    Some(match code {
        0 => R::Unspecified,
        1 => R::KeyCompromise,
        2 => R::CaCompromise,
        3 => R::AffiliationChanged,
        4 => R::Superseded,
        5 => R::CessationOfOperation,
        6 => R::CertificateHold,
        8 => R::RemoveFromCRL,
        9 => R::PrivilegeWithdrawn,
        10 => R::AaCompromise,
        _ => return None,
    })
}

/// Which reasons this installation accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RevocationPolicy {
    /// Accept certificateHold (off by default; the BR forbid it for TLS certificates).
    pub allow_certificate_hold: bool,
}

/// Revokes `serial`: validates, commits, then audits. Returns only after the store commit.
#[allow(clippy::too_many_arguments)]
pub fn revoke(
    certs: &dyn CertificateStore,
    serial: &Serial,
    reason: Reason,
    invalidity_date: Option<NaiveDateTime>,
    policy: RevocationPolicy,
    actor: &str,
    now: NaiveDateTime,
) -> Result<Revocation> {
    if reason == Reason::CertificateHold && !policy.allow_certificate_hold {
        return Err(Error::invalid(
            "reason",
            "certificateHold is disabled by the revocation policy",
        ));
    }
    if let Some(d) = invalidity_date {
        if d > now {
            return Err(Error::invalid(
                "invalidity date",
                format!("{d} is in the future"),
            ));
        }
    }
    let record = certs
        .certificate(serial)?
        .ok_or_else(|| Error::invalid("serial", format!("no certificate with serial {serial}")))?;
    let revocation = Revocation {
        serial: serial.clone(),
        reason: reason.code(),
        revoked_at: now,
        invalidity_date,
    };
    let event = AuditEvent {
        at: now,
        actor: actor.to_string(),
        action: "cert.revoke".into(),
        target: serial.to_hex(),
        details: serde_json::json!({
            "ca": record.pending.ca_name,
            "reason": reason.name(),
            "previous_status": record.status.as_str(),
            "invalidity_date": invalidity_date.map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        })
        .to_string(),
    };
    match certs.revoke(&revocation, &event) {
        Ok(_) => {}
        Err(StoreError::InvalidState(_)) => {
            return Err(Error::invalid(
                "serial",
                format!("certificate {serial} is already revoked"),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    Ok(revocation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_parse_in_several_spellings_and_keep_their_codes() {
        assert_eq!(Reason::parse("keyCompromise").unwrap().code(), 1);
        assert_eq!(
            Reason::parse("key-compromise").unwrap(),
            Reason::KeyCompromise
        );
        assert_eq!(Reason::parse("PRIVILEGE_WITHDRAWN").unwrap().code(), 9);
        assert_eq!(Reason::from_code(10), Some(Reason::AaCompromise));
        assert_eq!(Reason::from_code(7), None);
        assert!(Reason::parse("removeFromCRL").is_err());
        assert!(Reason::parse("because").is_err());
    }
}
