//! The one error type of the profiles crate.

/// A profile that cannot be loaded or is invalid; the message names the profile and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read profile file {path}: {reason}")]
    Read {
        /// File path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The TOML does not parse or has unknown fields.
    #[error("profile {profile}: {reason}")]
    Parse {
        /// Profile (file) name.
        profile: String,
        /// Parser message, naming the field.
        reason: String,
    },
    /// A field has a value the profile rules refuse.
    #[error("profile {profile}: {field}: {reason}")]
    Invalid {
        /// Profile name.
        profile: String,
        /// Offending field, dotted (`validity.max_days`).
        field: String,
        /// Why.
        reason: String,
    },
    /// Two profiles share a name.
    #[error("two profiles are named {0:?}")]
    Duplicate(String),
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
