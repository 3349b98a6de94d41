//! Storage for hsmca: the `ca_core::store` traits on SQLite or PostgreSQL, through diesel.
//!
//! [`Store::open`] takes a URL (`postgres://…`, `postgresql://…`, `sqlite://PATH`,
//! `file:PATH` or a plain path), runs the embedded migrations for that backend and
//! returns a cheap-to-clone handle around a connection pool. Calls block: from async
//! code, run them on a blocking thread pool.
#![forbid(unsafe_code)]

mod audit;
mod cas;
mod certs;
mod conn;
mod error;
mod migrate;
mod models;
mod schema;
mod sqlite;

use std::fmt;

use ca_core::store::StoreError;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};

use crate::conn::{ConnManager, Target};

/// How many times an operation that lost a race to a concurrent writer is retried.
const MAX_RETRIES: u32 = 50;

/// A handle to the hsmca database; cloning it shares the connection pool.
///
/// Implements [`ca_core::store::CaStore`], [`ca_core::store::CertificateStore`] and
/// [`ca_core::store::AuditStore`].
#[derive(Clone)]
pub struct Store {
    pool: Pool<ConnManager>,
    backend: &'static str,
    /// SQLite has one writer at a time; writers of this process queue here instead of
    /// meeting SQLITE_BUSY and sleeping in the busy handler (its back-off costs
    /// milliseconds). Other processes still wait through `busy_timeout`.
    sqlite_writer: std::sync::Arc<std::sync::Mutex<()>>,
}

impl Store {
    /// Opens the database at `url` with a pool of at most `pool_size` connections and
    /// brings its schema up to date.
    ///
    /// One connection is opened at once, so a wrong URL, an unreachable server or an
    /// unwritable file is reported here, with the driver's message, as
    /// [`StoreError::Backend`]. Opening is safe while other processes open the same
    /// database: migrations run under a lock.
    pub fn open(url: &str, pool_size: u32) -> Result<Store, StoreError> {
        if pool_size == 0 {
            return Err(StoreError::Backend(
                "the connection pool size must be at least 1".to_string(),
            ));
        }
        let target = Target::parse(url)?;
        let backend = target.backend_name();
        let manager = ConnManager::new(target);
        let mut first = manager
            .connect()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        migrate::run(&mut first)?;
        drop(first);
        // Connections are made on demand; the first one above proved that they can be.
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            // No validation query on every checkout (a round trip per operation on
            // PostgreSQL): a broken connection fails its statement, is marked broken by
            // `has_broken` and replaced.
            .test_on_check_out(false)
            .build_unchecked(manager);
        Ok(Store {
            pool,
            backend,
            sqlite_writer: Default::default(),
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        self.backend
    }

    /// A pooled connection, or `Backend` naming the operation that needed it.
    /// Holds this process's SQLite write turn (nothing on PostgreSQL) for a write.
    fn write_turn(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        (self.backend == "sqlite")
            .then(|| self.sqlite_writer.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn conn(&self, op: &str) -> Result<PooledConnection<ConnManager>, StoreError> {
        self.pool
            .get()
            .map_err(|e| StoreError::Backend(format!("{op}: no database connection: {e}")))
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("pool_size", &self.pool.max_size())
            .finish_non_exhaustive()
    }
}
