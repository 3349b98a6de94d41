//! Mapping diesel and pool failures onto [`StoreError`], with the failing operation named.

use ca_core::store::StoreError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// A failure inside a store operation: either from the database, or a decision the
/// operation made itself (not found, wrong state).
#[derive(Debug)]
pub(crate) enum OpError {
    /// The database refused or failed.
    Db(DieselError),
    /// The operation's own verdict, passed through unchanged.
    Store(StoreError),
}

impl From<DieselError> for OpError {
    fn from(e: DieselError) -> Self {
        OpError::Db(e)
    }
}

impl From<StoreError> for OpError {
    fn from(e: StoreError) -> Self {
        OpError::Store(e)
    }
}

impl OpError {
    /// True when a uniqueness constraint refused the write.
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            OpError::Db(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// The [`StoreError`] to report, `op` naming what was attempted.
    pub(crate) fn into_store(self, op: &str) -> StoreError {
        match self {
            OpError::Db(e) => db_error(op, e),
            OpError::Store(e) => e,
        }
    }
}

/// Maps a diesel error: unique violations become `Conflict`, missing referenced rows
/// `NotFound`, everything else `Backend`; each message starts with `op`.
pub(crate) fn db_error(op: &str, e: DieselError) -> StoreError {
    match &e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            StoreError::Conflict(format!("{op}: {}", info.message()))
        }
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
            StoreError::NotFound(format!(
                "{op}: a referenced record does not exist ({})",
                info.message()
            ))
        }
        DieselError::NotFound => StoreError::NotFound(op.to_string()),
        _ => StoreError::Backend(format!("{op}: {e}")),
    }
}

/// A value read from the database that does not decode (a corrupted or foreign row).
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored {what} is invalid: {detail}"))
}
