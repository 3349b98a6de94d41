//! The publisher's one error type.

/// What went wrong while building, publishing or serving CRLs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The CA engine failed (encoding, signing, verifying).
    #[error(transparent)]
    Core(#[from] ca_core::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] ca_core::store::StoreError),
    /// The HSM failed (keeps the PKCS#11 function and return value).
    #[error(transparent)]
    Hsm(#[from] hsm_backend::Error),
    /// Writing or reading a CRL file failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A request that cannot be met (unknown CA or shard, no base CRL for a delta …).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;
