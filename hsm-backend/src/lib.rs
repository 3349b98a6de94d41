//! PKCS#11 access for hsmca: modules, tokens (partitions), role logins, key generation
//! inside the token, and signing through a self-healing session pool.
//!
//! No `cryptoki` type appears in this crate's public API; callers see [`Module`],
//! [`Token`], [`KeySpec`], [`KeyRef`], [`PublicKey`], [`Signer`] and [`Error`].
#![forbid(unsafe_code)]

mod error;
mod keys;
mod module;
mod pin;
mod pubkey;
mod sign;
mod token;

pub use error::{Error, Result, RvClass};
pub use keys::{KeyInfo, KeyRef, KeySpec};
pub use module::{Module, TokenSummary, SOFTHSM2_MODULE};
pub use pin::Pin;
pub use pubkey::PublicKey;
pub use sign::{HsmSigner, Prehash, SignatureScheme, Signer};
pub use token::{Token, TokenStatus};
