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
use crate::store::{AuditEvent, AuditStore, CertificateStore, PendingCertificate};
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

/// A linted certificate that has not been signed yet. Single use: [`Issuer::issue`] consumes it.
pub struct PreparedCertificate {
    builder: CertificateBuilder<Plan>,
    pending: PendingCertificate,
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
    /// The certificate.
    pub certificate: Certificate,
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
        lint_tbs(
            &tbs_der,
            &IssuerFacts {
                self_signed,
                not_after: self.not_after,
            },
        )?;
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
        Ok(PreparedCertificate { builder, pending })
    }

    /// Records, signs, verifies, stores and audits a prepared certificate.
    pub fn issue(
        &self,
        prepared: PreparedCertificate,
        store: &dyn CertificateStore,
        audit: &dyn AuditStore,
        actor: &str,
        now: NaiveDateTime,
    ) -> Result<IssuedCertificate> {
        let PreparedCertificate { builder, pending } = prepared;
        if pending.ca_name != self.name {
            return Err(Error::invalid(
                "prepared certificate",
                format!("prepared for CA {:?}, not {:?}", pending.ca_name, self.name),
            ));
        }
        store.insert_pending(&pending)?;
        let serial = pending.serial.clone();
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
        let certificate = builder.assemble(BitString::from_bytes(&signature)?, &self.key)?;
        let der = certificate.to_der()?;
        // The assembled certificate must carry exactly the TBS bytes that were recorded.
        let reparsed = Certificate::from_der(&der)?;
        if reparsed.tbs_certificate().to_der()? != pending.tbs_der {
            return Err(Error::Encoding(
                "assembled certificate differs from the recorded TBS".into(),
            ));
        }
        store.store_signed(&serial, &der, now)?;
        audit.append_audit(&AuditEvent {
            at: now,
            actor: actor.to_string(),
            action: "cert.sign".into(),
            target: serial.to_hex(),
            details: serde_json::json!({
                "ca": self.name,
                "profile": pending.profile,
                "subject": pending.subject,
                "tbs_sha256": hex::encode(&pending.tbs_sha256),
                "algorithm": self.key.scheme().name(),
            })
            .to_string(),
        })?;
        Ok(IssuedCertificate {
            serial,
            der,
            certificate,
        })
    }
}
