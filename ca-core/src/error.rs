//! The one error type of `ca-core`.

use crate::store::StoreError;

/// Errors from the CA engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input that the caller must fix (bad field, bad name, bad request). Changes nothing.
    #[error("{field}: {reason}")]
    Invalid {
        /// The offending field or input.
        field: String,
        /// Why it is refused.
        reason: String,
    },
    /// A lint refused to let the certificate be signed.
    #[error("lint {lint} failed: {detail}")]
    Lint {
        /// Lint name.
        lint: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The HSM failed.
    #[error("HSM: {0}")]
    Hsm(#[from] hsm_backend::Error),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The HSM returned a signature that does not verify with the issuer's public key.
    #[error("signature from the HSM does not verify for serial {serial}: {detail}")]
    BadSignature {
        /// Serial of the certificate.
        serial: String,
        /// Verifier message.
        detail: String,
    },
    /// ASN.1 encoding or decoding failed.
    #[error("encoding: {0}")]
    Encoding(String),
    /// Unknown CA.
    #[error("no CA named {0:?}")]
    UnknownCa(String),
}

impl Error {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Whether the error is the caller's input (exit status 2) rather than an operational
    /// failure (exit status 1).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Invalid { .. } | Error::Lint { .. } | Error::UnknownCa(_)
        )
    }
}

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Error::Encoding(e.to_string())
    }
}

impl From<x509_cert::builder::Error> for Error {
    fn from(e: x509_cert::builder::Error) -> Self {
        Error::Encoding(e.to_string())
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
