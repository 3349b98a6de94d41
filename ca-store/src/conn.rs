//! Connections: the backend enum, URL parsing, the r2d2 manager and write transactions.

use std::fmt;

use ca_core::store::StoreError;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::{ManageConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::error::OpError;

/// One database connection, PostgreSQL or SQLite; query code is written once against it.
#[derive(diesel::MultiConnection)]
pub(crate) enum DbConnection {
    /// A PostgreSQL connection.
    Pg(PgConnection),
    /// A SQLite connection, set up by [`crate::sqlite::set_up`].
    Sqlite(SqliteConnection),
}

/// Which database a URL names.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A libpq connection URL, passed through unchanged.
    Postgres(String),
    /// A SQLite file name, or a `file:` URI.
    Sqlite(String),
}

impl Target {
    /// Reads `postgres://…`/`postgresql://…` as PostgreSQL; `sqlite://PATH`, `file:PATH`
    /// (a SQLite URI, kept whole) or a plain path as SQLite. Other schemes are refused.
    pub(crate) fn parse(url: &str) -> Result<Target, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_string()));
        }
        let path = if let Some(rest) = url.strip_prefix("sqlite://") {
            rest
        } else if url.starts_with("file:") {
            url
        } else if let Some((scheme, _)) = url.split_once("://") {
            return Err(StoreError::Backend(format!(
                "unsupported database URL scheme {scheme:?}: use postgres://, sqlite://, file: or a path"
            )));
        } else {
            url
        };
        if path.is_empty() {
            return Err(StoreError::Backend(
                "the database URL names no SQLite file".to_string(),
            ));
        }
        if path == ":memory:" || path.contains("mode=memory") {
            return Err(StoreError::Backend(
                "an in-memory SQLite database is private to one connection; use a file".to_string(),
            ));
        }
        Ok(Target::Sqlite(path.to_string()))
    }

    /// The backend's name, as [`crate::Store::backend_name`] reports it.
    pub(crate) fn backend_name(&self) -> &'static str {
        match self {
            Target::Postgres(_) => "postgres",
            Target::Sqlite(_) => "sqlite",
        }
    }
}

impl fmt::Debug for Target {
    /// PostgreSQL URLs may carry a password, so only the backend and SQLite path show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Postgres(_) => f.write_str("Postgres(<url>)"),
            Target::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
        }
    }
}

/// Why a connection could not be opened or checked; the driver's own message, with context.
#[derive(Debug)]
pub(crate) struct ConnectError(pub(crate) String);

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConnectError {}

/// Opens connections of the variant the URL names (never guessing by trial, which
/// would hide the real connection error), and sets SQLite up.
#[derive(Debug)]
pub(crate) struct ConnManager {
    target: Target,
}

impl ConnManager {
    /// A manager for `target`.
    pub(crate) fn new(target: Target) -> Self {
        ConnManager { target }
    }
}

impl ManageConnection for ConnManager {
    type Connection = DbConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConnection, ConnectError> {
        match &self.target {
            Target::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Pg)
                .map_err(|e| ConnectError(format!("connecting to PostgreSQL: {e}"))),
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)
                    .map_err(|e| ConnectError(format!("opening SQLite database {path:?}: {e}")))?;
                crate::sqlite::set_up(&mut conn).map_err(|e| {
                    ConnectError(format!("setting up SQLite database {path:?}: {e}"))
                })?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectError> {
        conn.ping()
            .map_err(|e| ConnectError(format!("database connection check failed: {e}")))
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Runs `body` in a transaction meant for read-then-write work and commits on `Ok`.
///
/// On SQLite the transaction is `BEGIN IMMEDIATE`: it takes the write lock up front, so
/// two writers wait for each other (`busy_timeout`) instead of both reading and then one
/// failing to upgrade its lock. On PostgreSQL it is an ordinary transaction; row locks
/// and unique constraints serialise writers.
pub(crate) fn write_transaction<T, F>(conn: &mut DbConnection, body: F) -> Result<T, OpError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, OpError>,
{
    match conn {
        DbConnection::Pg(_) => conn.transaction(body),
        DbConnection::Sqlite(inner) => {
            // What `SqliteConnection::immediate_transaction` does, but with the body
            // running on the enum, so query code is written once. The enum's transaction
            // manager delegates to the inner connection's, which this call has opened.
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            match body(conn) {
                Ok(value) => {
                    DbConnection::commit_transaction(conn)?;
                    Ok(value)
                }
                Err(err) => match DbConnection::rollback_transaction(conn) {
                    Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(err),
                    Err(rollback) => Err(rollback.into()),
                },
            }
        }
    }
}
