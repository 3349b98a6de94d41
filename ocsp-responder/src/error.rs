//! The responder's one error type.

/// What went wrong while answering or preparing responses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The CA engine failed (signing, encoding, store).
    #[error(transparent)]
    Core(#[from] ca_core::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] ca_core::store::StoreError),
    /// The HSM failed (keeps the PKCS#11 function and return value).
    #[error(transparent)]
    Hsm(#[from] hsm_backend::Error),
    /// DER encoding or decoding failed.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// Configuration or stored data that cannot be used, with the reason.
    #[error("{0}")]
    Setup(String),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;
