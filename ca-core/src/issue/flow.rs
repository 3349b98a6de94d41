//! From CSR to recorded, signed certificate: parse and verify the CSR, check the public key,
//! apply the profile, then prepare (serial, TBS, lints) and issue (record, sign, verify,
//! store, audit). Bad input fails before a serial is allocated or anything is stored.

use chrono::NaiveDateTime;
use const_oid::ObjectIdentifier;
use profiles::{KeyKindName, Profile};

use super::san::San;
use super::template::{plan, IssueRequest, KeyFacts};
use crate::csr::{check_subject, parse_csr, RequestedSan};
use crate::error::{Error, Result};
use crate::issuer::{IssuedCertificate, Issuer, PreparedCertificate};
use crate::keycheck::{check_public_key, Blocklist, KeyKind, KeyPolicy};
use crate::store::{CaRecord, CertificateStore};

/// Everything one issuance needs besides the request.
#[derive(Clone, Copy)]
pub struct Issuance<'a> {
    /// The issuing CA's signer.
    pub issuer: &'a Issuer,
    /// The issuing CA's record (validity, publication URLs).
    pub ca: &'a CaRecord,
    /// The profile.
    pub profile: &'a Profile,
    /// Blocked keys.
    pub blocklist: &'a Blocklist,
    /// Certificate records.
    pub certs: &'a dyn CertificateStore,
    /// Who asks (recorded in the audit log).
    pub actor: &'a str,
}

/// Operator choices that override the CSR.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// SANs to certify instead of the CSR's.
    pub sans: Option<Vec<San>>,
    /// Validity in days instead of the profile's default.
    pub days: Option<u32>,
}

/// A certificate issued from a CSR, and the requested extensions that were not honoured.
#[derive(Debug, Clone)]
pub struct IssuedFromCsr {
    /// The certificate.
    pub issued: IssuedCertificate,
    /// Extensions the CSR asked for that the certificate does not carry.
    pub dropped_extensions: Vec<ObjectIdentifier>,
}

/// The key policy a profile implies.
pub fn key_policy(profile: &Profile, blocklist: Option<std::path::PathBuf>) -> KeyPolicy {
    let k = &profile.keys;
    KeyPolicy {
        allow_rsa: k.allowed.contains(&KeyKindName::Rsa),
        rsa_min_bits: k.rsa_min_bits,
        rsa_max_bits: k.rsa_max_bits,
        rsa_exponents: k.rsa_exponents.clone(),
        allow_p256: k.allowed.contains(&KeyKindName::EcP256),
        allow_p384: k.allowed.contains(&KeyKindName::EcP384),
        allow_p521: k.allowed.contains(&KeyKindName::EcP521),
        allow_ed25519: k.allowed.contains(&KeyKindName::Ed25519),
        blocklist,
    }
}

fn key_facts(kind: KeyKind) -> KeyFacts {
    match kind {
        KeyKind::Rsa { bits } => KeyFacts {
            kind: KeyKindName::Rsa,
            rsa_bits: Some(bits),
        },
        KeyKind::EcP256 => KeyFacts {
            kind: KeyKindName::EcP256,
            rsa_bits: None,
        },
        KeyKind::EcP384 => KeyFacts {
            kind: KeyKindName::EcP384,
            rsa_bits: None,
        },
        KeyKind::EcP521 => KeyFacts {
            kind: KeyKindName::EcP521,
            rsa_bits: None,
        },
        _ => KeyFacts {
            kind: KeyKindName::Ed25519,
            rsa_bits: None,
        },
    }
}

fn requested_san(r: &RequestedSan) -> Result<San> {
    Ok(match r {
        RequestedSan::Dns(d) => San::Dns(d.to_ascii_lowercase()),
        RequestedSan::Ip(a) => San::Ip(*a),
        RequestedSan::Email(e) => San::Email(e.clone()),
        RequestedSan::Uri(u) => San::Uri(u.clone()),
        other => {
            return Err(Error::invalid(
                "san",
                format!("the request carries a SAN type hsmca does not issue: {other:?}"),
            ))
        }
    })
}

/// A random CRL shard in `0..shards`.
pub fn random_shard(shards: u16) -> Result<i32> {
    let mut b = [0u8; 2];
    getrandom::fill(&mut b).map_err(|e| Error::Encoding(format!("random source: {e}")))?;
    Ok(i32::from(u16::from_be_bytes(b) % shards.max(1)))
}

impl Issuance<'_> {
    /// Issues a certificate for the CSR `csr` (PEM or DER).
    pub fn issue_csr(
        &self,
        csr: &[u8],
        overrides: &Overrides,
        now: NaiveDateTime,
    ) -> Result<IssuedFromCsr> {
        let (prepared, dropped_extensions) = self.prepare_csr(csr, overrides, now)?;
        let issued = self.issuer.issue(prepared, self.certs, self.actor, now)?;
        Ok(IssuedFromCsr {
            issued,
            dropped_extensions,
        })
    }

    /// Everything before the store is touched: parse and verify the CSR, check its key,
    /// apply the profile, allocate the serial, build and lint the TBS. Returns the
    /// prepared certificate and the requested extensions it will not carry.
    pub(crate) fn prepare_csr(
        &self,
        csr: &[u8],
        overrides: &Overrides,
        now: NaiveDateTime,
    ) -> Result<(PreparedCertificate, Vec<ObjectIdentifier>)> {
        if self.issuer.name() != self.ca.name {
            return Err(Error::invalid("ca", "issuer and CA record differ"));
        }
        let parsed = parse_csr(csr)?;
        check_subject(parsed.subject())?;
        let policy = key_policy(self.profile, None);
        let checked = check_public_key(parsed.public_key(), &policy, self.blocklist)?;
        let sans = match &overrides.sans {
            Some(s) => s.clone(),
            None => parsed
                .sans()
                .iter()
                .map(requested_san)
                .collect::<Result<Vec<_>>>()?,
        };
        let request = IssueRequest {
            subject: parsed.subject().clone(),
            public_key: parsed.public_key().clone(),
            key: key_facts(checked.kind()),
            requested_extensions: parsed.extensions().to_vec(),
            sans,
            validity_days: overrides.days,
        };
        let shard = random_shard(self.ca.publication.crl_shards)?;
        let planned = plan(self.profile, request, self.ca, now, shard)?;
        let prepared = self.issuer.prepare(planned.template, now)?;
        Ok((prepared, planned.dropped_extensions))
    }
}
