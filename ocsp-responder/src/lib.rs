//! hsmca's OCSP responder (RFC 6960, RFC 5019 profile).
//!
//! Responses are signed ahead of time for every unexpired certificate, stored in the
//! database and served from memory; they are re-signed at half-life, and a revocation
//! replaces the serial's response (see [`service::resign_serial`]). Requests that memory
//! cannot answer — a brand-new certificate, a SHA-256 CertID, several certificates, a nonce
//! to echo — are signed on demand through the HSM on a blocking thread. Every node follows
//! the store's change feed, so a revocation made anywhere reaches every responder.
//!
//! Layout: [`request`] decodes HTTP input, [`ca`] identifies the CA asked about,
//! [`signer`] provides the key (CA or delegated responder), [`engine`] answers and keeps
//! memory, [`cache`] holds the responses, [`service`] wires it to the store and HSM and runs
//! the background work, [`http`] is the actix-web front, [`nudge`] wakes local responders
//! after `hsmca revoke`, [`metrics`] counts.
#![forbid(unsafe_code)]

pub mod ca;
pub mod cache;
pub mod config;
pub mod engine;
pub mod error;
pub mod http;
pub mod metrics;
pub mod nudge;
pub mod request;
pub mod service;
pub mod signer;

pub use config::{NoncePolicy, OcspConfig, SignerMode, UnknownPolicy};
pub use engine::Responder;
pub use error::{Error, Result};

use ca_core::store::{AuditStore, CaStore, CertificateStore, OcspStore};

/// Everything the responder reads and writes: CAs and keys, certificates, the audit log
/// and the pre-signed responses.
pub trait ResponderStore: CaStore + CertificateStore + AuditStore + OcspStore {}

impl<T: CaStore + CertificateStore + AuditStore + OcspStore> ResponderStore for T {}
