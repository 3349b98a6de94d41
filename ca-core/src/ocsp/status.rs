//! What the responder answers for a serial (issue 4 "status semantics"): `good` only for an
//! issued, unrevoked certificate; `revoked` with time and reason (kept on every re-signing);
//! a serial this CA never issued is `unknown`, or `revoked` (certificateHold, epoch time)
//! where the CA/B Forum BR §7.3 option is configured; a `pending` serial is never `good`.

use chrono::DateTime;
use der::asn1::Null;
use x509_cert::ext::pkix::CrlReason;

use super::asn1::{CertStatus, RevokedInfo};
use super::response::generalized;
use crate::error::Result;
use crate::store::{CertStatus as Stored, CertificateRecord};

/// How to answer for serials this CA never issued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnknownSerials {
    /// `unknown` (RFC 6960 §2.2).
    #[default]
    Unknown,
    /// `revoked`, reason certificateHold, revocationTime 1970-01-01 (RFC 6960 §2.2 extended
    /// revoked definition, BR §7.3).
    Revoked,
}

/// The OCSP status of `record` (the store's record for the serial, issued by the CA asked
/// about), or of a serial the CA never issued when `record` is `None`.
pub fn status_of(
    record: Option<&CertificateRecord>,
    unknown: UnknownSerials,
) -> Result<CertStatus> {
    let never_issued = || -> Result<CertStatus> {
        Ok(match unknown {
            UnknownSerials::Unknown => CertStatus::Unknown(Null),
            UnknownSerials::Revoked => CertStatus::Revoked(RevokedInfo {
                revocation_time: generalized(DateTime::UNIX_EPOCH.naive_utc())?,
                revocation_reason: Some(CrlReason::CertificateHold),
            }),
        })
    };
    let Some(r) = record else {
        return never_issued();
    };
    match (&r.revocation, r.status) {
        (Some(rev), _) => Ok(CertStatus::Revoked(RevokedInfo {
            revocation_time: generalized(rev.revoked_at)?,
            revocation_reason: crate::revocation::crl_reason(rev.reason),
        })),
        (None, Stored::Issued) => Ok(CertStatus::Good(Null)),
        // Pending: recorded, maybe signed by the HSM, not stored. Never good; the serial
        // exists, so it is not "never issued" either: answer as for an unknown serial.
        (None, _) => never_issued(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serial::Serial;
    use crate::store::{PendingCertificate, Revocation};
    use chrono::NaiveDateTime;

    fn record(status: Stored, revocation: Option<Revocation>) -> CertificateRecord {
        let t = NaiveDateTime::parse_from_str("2026-01-01 00:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        let serial = Serial::parse("0a0b").unwrap();
        CertificateRecord {
            pending: PendingCertificate {
                serial,
                ca_name: "issuing".into(),
                profile: "tls-server".into(),
                subject: String::new(),
                sans: vec![],
                not_before: t,
                not_after: t,
                tbs_der: vec![],
                tbs_sha256: vec![],
                crl_shard: 0,
                created_at: t,
            },
            status,
            der: None,
            issued_at: None,
            revocation,
        }
    }

    #[test]
    fn issued_is_good_and_pending_never_is() {
        let good = status_of(Some(&record(Stored::Issued, None)), UnknownSerials::Unknown).unwrap();
        assert!(matches!(good, CertStatus::Good(_)));
        for policy in [UnknownSerials::Unknown, UnknownSerials::Revoked] {
            let pending = status_of(Some(&record(Stored::Pending, None)), policy).unwrap();
            assert!(!matches!(pending, CertStatus::Good(_)), "{policy:?}");
        }
    }

    #[test]
    fn revoked_keeps_time_and_reason() {
        let at = NaiveDateTime::parse_from_str("2026-03-04 05:06:07", "%Y-%m-%d %H:%M:%S").unwrap();
        let rev = Revocation {
            serial: Serial::parse("0a0b").unwrap(),
            reason: 1,
            revoked_at: at,
            invalidity_date: None,
        };
        match status_of(
            Some(&record(Stored::Revoked, Some(rev))),
            UnknownSerials::Unknown,
        )
        .unwrap()
        {
            CertStatus::Revoked(info) => {
                assert_eq!(info.revocation_reason, Some(CrlReason::KeyCompromise));
                assert_eq!(info.revocation_time, generalized(at).unwrap());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn never_issued_serials_follow_the_policy() {
        assert!(matches!(
            status_of(None, UnknownSerials::Unknown).unwrap(),
            CertStatus::Unknown(_)
        ));
        match status_of(None, UnknownSerials::Revoked).unwrap() {
            CertStatus::Revoked(info) => {
                assert_eq!(info.revocation_reason, Some(CrlReason::CertificateHold));
                assert_eq!(
                    info.revocation_time,
                    generalized(DateTime::UNIX_EPOCH.naive_utc()).unwrap()
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
