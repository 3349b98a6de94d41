//! Lint-then-sign issuance with record-before-sign (architecture invariant 2):
//! allocate serial → build TBS → lint → store serial + TBS as `pending` → HSM signs →
//! verify the signature with the issuer's public key → store as `issued` → audit event.
//!
//! [`Issuer::prepare`] returns a [`PreparedCertificate`]: linted, single-use, consumed by
//! [`Issuer::issue`]. It cannot be cloned, so one preparation signs at most once.

use chrono::NaiveDateTime;
use der::asn1::BitString;
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;
use x509_cert::Certificate;

use crate::error::{Error, Result};
use crate::extensions::{authority_key_identifier, key_identifier};
use crate::lint::{lint_tbs, IssuerFacts};
use crate::serial::Serial;
use crate::signing::CaKey;
use crate::store::{AuditEvent, CertificateStore, PendingCertificate, SignedRecord};
use crate::time::{from_x509, to_x509};

/// What a certificate should contain, as decided by a profile or a ceremony.
#[derive(Debug, Clone)]
pub struct CertificateTemplate {
    /// Profile name recorded with the certificate.
    pub profile: String,
    /// Subject name.
    pub subject: Name,
    /// Subject public key.
    pub subject_public_key: SubjectPublicKeyInfoOwned,
    /// Start of validity.
    pub not_before: NaiveDateTime,
    /// End of validity.
    pub not_after: NaiveDateTime,
    /// Extensions, except authorityKeyIdentifier, which the issuer adds.
    pub extensions: Vec<Extension>,
    /// SANs as recorded in the store (`dns:…`, `ip:…`).
    pub sans: Vec<String>,
    /// CRL shard.
    pub crl_shard: i32,
    /// The profile whose lints the TBS must pass (besides the RFC 5280 essentials).
    pub lint_profile: Option<profiles::Profile>,
}

/// Our x509-cert builder profile: the template decides subject and extensions.
struct Plan {
    subject: Name,
    issuer: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for Plan {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

/// A CA that signs: its name, subject, key and validity.
#[derive(Debug, Clone)]
pub struct Issuer {
    name: String,
    subject: Name,
    key: CaKey,
    key_id: Vec<u8>,
    /// `None` while issuing its own self-signed certificate.
    not_after: Option<NaiveDateTime>,
}

/// A linted certificate that has not been signed yet. Single use: [`Issuer::issue`] consumes
/// it, and it cannot be cloned or built outside [`Issuer::prepare`].
pub struct PreparedCertificate {
    pub(crate) pending: PendingCertificate,
}

/// `Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, signatureAlgorithm
/// AlgorithmIdentifier, signatureValue BIT STRING }` (RFC 5280 §4.1), with the TBS kept as
/// the exact bytes that were recorded before signing.
#[derive(der::Sequence)]
struct CertificateParts<'a> {
    tbs_certificate: der::asn1::AnyRef<'a>,
    signature_algorithm: spki::AlgorithmIdentifierOwned,
    signature: BitString,
}

impl std::fmt::Debug for PreparedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCertificate")
            .field("serial", &self.pending.serial)
            .field("ca", &self.pending.ca_name)
            .finish()
    }
}

impl PreparedCertificate {
    /// What will be recorded as `pending`.
    pub fn pending(&self) -> &PendingCertificate {
        &self.pending
    }
}

/// A signed, verified and recorded certificate.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// Serial.
    pub serial: Serial,
    /// DER of the certificate.
    pub der: Vec<u8>,
    /// The serial was revoked while it was pending (between its record and the stored
    /// certificate): the certificate is stored, and recorded as revoked. Whoever asked for
    /// it must be told; it is not a usable certificate.
    pub revoked_while_pending: bool,
}

impl IssuedCertificate {
    /// The certificate, decoded from [`IssuedCertificate::der`] (on demand: issuing
    /// does not need it).
    pub fn certificate(&self) -> Result<Certificate> {
        Ok(Certificate::from_der(&self.der)?)
    }
}

/// The full DER of the TBS's `signature` field (RFC 5280 §4.1.2.3), which must equal the
/// certificate's signatureAlgorithm:
///
/// ```text
/// TBSCertificate ::= SEQUENCE {
///      version         [0]  EXPLICIT Version DEFAULT v1,
///      serialNumber         CertificateSerialNumber,
///      signature            AlgorithmIdentifier,
///      ... }
/// ```
///
/// Read without decoding the rest of the TBS.
fn tbs_signature_field(tbs_der: &[u8]) -> der::Result<&[u8]> {
    use der::{Reader, SliceReader};
    let mut outer = SliceReader::new(tbs_der)?;
    let mut fields = SliceReader::new(outer.tlv_bytes()?)?;
    let header = der::Header::decode(&mut fields)?;
    header.tag().assert_eq(der::Tag::Sequence)?;
    let mut next = fields.tlv_bytes()?;
    if next.first() == Some(&0xa0) {
        // [0] EXPLICIT version: the serial comes next.
        next = fields.tlv_bytes()?;
    }
    let _serial = next;
    fields.tlv_bytes()
}

impl Issuer {
    /// A CA whose certificate is `ca_cert`, signing with `key`. Refuses a key whose public
    /// half is not the certificate's.
    pub fn new(name: &str, ca_cert: &Certificate, key: CaKey) -> Result<Self> {
        let tbs = ca_cert.tbs_certificate();
        if tbs.subject_public_key_info().to_der()? != key.spki_der() {
            return Err(Error::invalid(
                "ca key",
                format!("the HSM key of CA {name:?} does not match its certificate"),
            ));
        }
        Ok(Issuer {
            name: name.to_string(),
            subject: tbs.subject().clone(),
            key_id: key_identifier(key.spki()),
            not_after: Some(from_x509(&tbs.validity().not_after)),
            key,
        })
    }

    /// The issuer of a recorded CA: its stored certificate, signing with its key in `token`.
    pub fn open(
        token: &std::sync::Arc<hsm_backend::Token>,
        ca: &crate::store::CaRecord,
    ) -> Result<Self> {
        let cert = Certificate::from_der(&ca.certificate_der)
            .map_err(|e| Error::Encoding(format!("stored certificate of CA {:?}: {e}", ca.name)))?;
        Issuer::new(
            &ca.name,
            &cert,
            CaKey::open(token, &ca.key_label, &ca.signature)?,
        )
    }

    /// A root CA about to sign its own certificate with subject `subject`.
    pub fn self_signed(name: &str, subject: Name, key: CaKey) -> Self {
        Issuer {
            name: name.to_string(),
            key_id: key_identifier(key.spki()),
            subject,
            not_after: None,
            key,
        }
    }

    /// The CA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CA's subject name (the issuer of what it signs).
    pub fn subject(&self) -> &Name {
        &self.subject
    }

    /// The CA's key identifier (its certificates' and CRLs' authorityKeyIdentifier).
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }

    /// The signing key.
    pub fn key(&self) -> &CaKey {
        &self.key
    }

    /// Allocates a serial, builds the TBS and lints it.
    pub fn prepare(
        &self,
        t: CertificateTemplate,
        now: NaiveDateTime,
    ) -> Result<PreparedCertificate> {
        let serial = Serial::random().map_err(|e| Error::Encoding(e.to_string()))?;
        let self_signed = self.not_after.is_none();
        let mut extensions = t.extensions;
        extensions.push(authority_key_identifier(&self.key_id)?);
        let plan = Plan {
            subject: t.subject.clone(),
            issuer: self.subject.clone(),
            extensions,
        };
        let validity = Validity::new(to_x509(t.not_before)?, to_x509(t.not_after)?);
        let mut builder = CertificateBuilder::new(
            plan,
            SerialNumber::new(serial.as_bytes())?,
            validity,
            t.subject_public_key,
        )?;
        let tbs_der = builder.finalize(&self.key)?;
        let tbs = lint_tbs(
            &tbs_der,
            &IssuerFacts {
                self_signed,
                not_after: self.not_after,
            },
        )?;
        if let Some(profile) = &t.lint_profile {
            crate::issue::lints::lint_profile(&tbs, profile)?;
        }
        let pending = PendingCertificate {
            serial,
            ca_name: self.name.clone(),
            profile: t.profile,
            subject: t.subject.to_string(),
            sans: t.sans,
            not_before: t.not_before,
            not_after: t.not_after,
            tbs_sha256: Sha256::digest(&tbs_der).to_vec(),
            tbs_der,
            crl_shard: t.crl_shard,
            created_at: now,
        };
        Ok(PreparedCertificate { pending })
    }

    /// Records, signs, verifies, stores and audits a prepared certificate.
    pub fn issue(
        &self,
        prepared: PreparedCertificate,
        store: &dyn CertificateStore,
        actor: &str,
        now: NaiveDateTime,
    ) -> Result<IssuedCertificate> {
        let PreparedCertificate { pending } = prepared;
        if pending.ca_name != self.name {
            return Err(Error::invalid(
                "prepared certificate",
                format!("prepared for CA {:?}, not {:?}", pending.ca_name, self.name),
            ));
        }
        store.insert_pending(&pending)?;
        self.sign_recorded(&pending, store, actor, now, "cert.sign")
    }

    /// Signs the TBS bytes of a recorded `pending` certificate, verifies the signature, stores
    /// the certificate and writes the audit event `action`. Used by [`Issuer::issue`] and by
    /// reconciliation of records a crash left pending; not public, so that outside this
    /// crate a certificate is signed only by consuming a prepared, linted one.
    pub(crate) fn sign_recorded(
        &self,
        pending: &PendingCertificate,
        store: &dyn CertificateStore,
        actor: &str,
        now: NaiveDateTime,
        action: &str,
    ) -> Result<IssuedCertificate> {
        let signed = self.sign_verified(pending, actor, now, action)?;
        store.store_signed(&signed.serial, &signed.der, signed.at, &signed.audit)?;
        let revoked = store
            .revoked_among(std::slice::from_ref(&signed.serial))
            .map_err(|e| unknown_revocation(&signed.serial, &e))?;
        Ok(IssuedCertificate {
            revoked_while_pending: !revoked.is_empty(),
            ..signed.into()
        })
    }

    /// Signs the TBS bytes of a recorded `pending` certificate in the HSM, verifies the
    /// signature with this CA's public key and assembles the certificate; returns what
    /// [`CertificateStore::store_signed`] must record before the certificate is handed out.
    pub(crate) fn sign_verified(
        &self,
        pending: &PendingCertificate,
        actor: &str,
        now: NaiveDateTime,
        action: &str,
    ) -> Result<SignedRecord> {
        let serial = pending.serial.clone();
        if Sha256::digest(&pending.tbs_der).as_slice() != pending.tbs_sha256.as_slice() {
            return Err(Error::Encoding(format!(
                "recorded TBS of serial {serial} does not match its recorded hash"
            )));
        }
        if tbs_signature_field(&pending.tbs_der)? != self.key.algorithm_der() {
            return Err(Error::Encoding(format!(
                "serial {serial}: the recorded TBS names another signature algorithm than this CA's key signs with"
            )));
        }
        let signature = self.key.sign(&pending.tbs_der)?;
        crate::verify::verify_signature(
            self.key.scheme(),
            self.key.spki_der(),
            &pending.tbs_der,
            &signature,
        )
        .map_err(|detail| Error::BadSignature {
            serial: serial.to_hex(),
            detail,
        })?;
        let der = CertificateParts {
            tbs_certificate: der::asn1::AnyRef::from_der(&pending.tbs_der)?,
            signature_algorithm: self.key.algorithm().clone(),
            signature: BitString::from_bytes(&signature)?,
        }
        .to_der()?;
        let audit = AuditEvent {
            at: now,
            actor: actor.to_string(),
            action: action.into(),
            target: serial.to_hex(),
            details: serde_json::json!({
                "ca": self.name,
                "profile": pending.profile,
                "subject": pending.subject,
                "tbs_sha256": hex::encode(&pending.tbs_sha256),
                "algorithm": self.key.scheme().name(),
            })
            .to_string(),
        };
        Ok(SignedRecord {
            serial,
            der,
            at: now,
            audit,
        })
    }
}

/// The certificate of a signed record, to hand out once the record is stored.
/// The error of a certificate that was stored, but whose status could not be read back:
/// whether it was revoked while pending is unknown, so it is not handed out as usable.
pub(crate) fn unknown_revocation(serial: &Serial, e: &crate::store::StoreError) -> Error {
    Error::Encoding(format!(
        "serial {serial}: the certificate is stored, but whether it was revoked while pending \
         could not be read ({e}); see `hsmca cert show {serial}`"
    ))
}

impl From<SignedRecord> for IssuedCertificate {
    fn from(r: SignedRecord) -> Self {
        IssuedCertificate {
            serial: r.serial,
            der: r.der,
            revoked_while_pending: false,
        }
    }
}
