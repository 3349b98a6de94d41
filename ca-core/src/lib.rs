//! The hsmca CA engine: CA hierarchy and ceremonies, serials, lint-then-sign issuance with
//! record-before-sign. It signs through [`hsm_backend::Signer`] and stores through the
//! traits in [`store`], which it owns and `ca-store` implements; it knows no HTTP and no SQL.
#![forbid(unsafe_code)]

pub mod algorithm;
pub mod audit;
pub mod ceremony;
pub mod clock;
pub mod crl;
pub mod csr;
pub mod error;
pub mod extensions;
pub mod issue;
pub mod issuer;
pub mod keycheck;
pub mod lint;
pub mod ocsp;
pub mod reconcile;
pub mod revocation;
pub mod serial;
pub mod signing;
pub mod store;
pub mod time;
pub mod verify;

pub use error::{Error, Result};
