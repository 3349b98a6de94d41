//! A CA this responder answers for: the hashes that identify it in a CertID (RFC 6960
//! §4.1.1) and the key that currently signs its responses.

use std::sync::{Arc, RwLock};

use chrono::NaiveDateTime;
use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256};
use der::asn1::{Null, OctetString};
use der::{Decode, Encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

use ca_core::ocsp::asn1::CertId;
use ca_core::serial::Serial;
use ca_core::signing::CaKey;
use ca_core::store::CaRecord;

use crate::error::Result;

/// The key that signs a CA's responses: the CA key, or a delegated responder's.
#[derive(Clone, Debug)]
pub struct ResponderKey {
    /// HSM label of the key (recorded with every stored response).
    pub label: String,
    /// The signer.
    pub key: CaKey,
    /// DER of the delegated responder's certificate, sent in every response; `None` when
    /// the CA key signs.
    pub certificate_der: Option<Vec<u8>>,
    /// Delegated responder generation; 0 for the CA key.
    pub generation: i64,
    /// End of the responder certificate's validity (`None` for the CA key).
    pub not_after: Option<NaiveDateTime>,
}

/// Which hash a CertID used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdHash {
    /// SHA-1 (RFC 5019 clients; what pre-signed responses carry).
    Sha1,
    /// SHA-256.
    Sha256,
}

/// A CA served by this responder.
#[derive(Debug)]
pub struct CaResponder {
    /// The CA's name in the store.
    pub name: String,
    /// The CA certificate.
    pub certificate: Certificate,
    sha1_name: [u8; 20],
    sha1_key: [u8; 20],
    sha256_name: [u8; 32],
    sha256_key: [u8; 32],
    key: RwLock<Arc<ResponderKey>>,
}

impl CaResponder {
    /// The CA of `record`, signing with `key`.
    pub fn new(record: &CaRecord, key: ResponderKey) -> Result<Self> {
        let certificate = Certificate::from_der(&record.certificate_der)?;
        let tbs = certificate.tbs_certificate();
        let name = tbs.subject().to_der()?;
        let spk = tbs.subject_public_key_info().subject_public_key.raw_bytes();
        Ok(CaResponder {
            name: record.name.clone(),
            sha1_name: Sha1::digest(&name).into(),
            sha1_key: Sha1::digest(spk).into(),
            sha256_name: Sha256::digest(&name).into(),
            sha256_key: Sha256::digest(spk).into(),
            certificate,
            key: RwLock::new(Arc::new(key)),
        })
    }

    /// Whether `id` names this CA as issuer, and with which hash.
    pub fn matches(&self, id: &CertId) -> Option<IdHash> {
        let (n, k) = (
            id.issuer_name_hash.as_bytes(),
            id.issuer_key_hash.as_bytes(),
        );
        match id.hash_algorithm.oid {
            ID_SHA_1 if n == self.sha1_name && k == self.sha1_key => Some(IdHash::Sha1),
            ID_SHA_256 if n == self.sha256_name && k == self.sha256_key => Some(IdHash::Sha256),
            _ => None,
        }
    }

    /// The SHA-1 CertID of `serial` under this CA, as pre-signed responses carry it.
    pub fn sha1_cert_id(&self, serial: &Serial) -> Result<CertId> {
        Ok(CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: ID_SHA_1,
                parameters: Some(Null.into()),
            },
            issuer_name_hash: OctetString::new(self.sha1_name.to_vec())?,
            issuer_key_hash: OctetString::new(self.sha1_key.to_vec())?,
            serial_number: SerialNumber::new(serial.as_bytes())?,
        })
    }

    /// The key signing now.
    pub fn key(&self) -> Arc<ResponderKey> {
        self.key.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Switches to a new key (a renewed delegated responder).
    pub fn set_key(&self, key: ResponderKey) {
        *self.key.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
    }
}

/// The serial a CertID asks about, or `None` if it cannot be one of ours (zero, negative,
/// longer than 20 octets).
pub fn requested_serial(id: &CertId) -> Option<Serial> {
    let bytes = id.serial_number.as_bytes();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    Serial::from_bytes(bytes).ok()
}
