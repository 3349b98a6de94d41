//! hsmca's CRL publisher: full, delta and sharded CRLs (RFC 5280 §5) of every CA, signed in
//! the HSM through `ca-core`'s streaming encoder, published atomically as DER and PEM files,
//! regenerated on a schedule and soon after revocations, and served over HTTP.
//!
//! Layout: [`config`] (`[crl]`), [`layout`] (file names and URL paths), [`files`] (atomic
//! publishing), [`publisher`] (one CRL: number, entries, sign, publish, record),
//! [`schedule`] (when), [`http`] (serving).
#![forbid(unsafe_code)]

pub mod config;
pub mod error;
pub mod files;
pub mod http;
pub mod layout;
pub mod publisher;
pub mod schedule;

pub use config::CrlConfig;
pub use error::{Error, Result};
pub use layout::Kind;
pub use publisher::{Published, Publisher};

use ca_core::store::{AuditStore, CaStore, CertificateStore, CrlStore};

/// Everything the publisher reads and writes.
pub trait PublisherStore: CaStore + CertificateStore + CrlStore + AuditStore {}

impl<T: CaStore + CertificateStore + CrlStore + AuditStore> PublisherStore for T {}
