//! Certificate revocation lists (RFC 5280 §5): full, delta and sharded CRLs signed through
//! the CA's HSM key, encoded as a stream so that a list of any length is never held whole.

pub mod encode;

pub use encode::{write_crl, CrlParams, SignedCrl};
