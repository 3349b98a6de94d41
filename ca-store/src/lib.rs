//! Storage for hsmca: the `ca_core::store` traits on SQLite or PostgreSQL, through diesel.
//!
//! [`Store::open`] takes a URL (`postgres://…`, `postgresql://…`, `sqlite://PATH`,
//! `file:PATH` or a plain path), runs the embedded migrations for that backend and
//! returns a cheap-to-clone handle around a connection pool. Calls block: from async
//! code, run them on a blocking thread pool.
//!
//! Write operations that arrive at the same time (`insert_pending`, `store_signed`,
//! `revoke`, `record_crl`, `append_audit`) are committed together, in one transaction
//! with one commit (group commit). Each caller is answered only after that commit; an
//! operation that fails is undone alone and reports its own error, the others still
//! commit. A lone operation runs at once, as it would without grouping. See
//! [`Store::stats`].
#![forbid(unsafe_code)]

mod audit;
mod batch;
mod bulk;
mod cas;
mod certs;
mod committer;
mod conn;
mod crl;
mod error;
mod migrate;
mod models;
mod ocsp;
mod schema;
mod sqlite;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use ca_core::store::{AuditEntry, StoreError};
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};

use crate::committer::Committer;
use crate::conn::{ConnManager, Target};

pub use crate::committer::WriteStats;

/// How many times an operation that lost a race to a concurrent writer is retried.
const MAX_RETRIES: u32 = 50;

/// How many write batches may run at once on PostgreSQL: while one waits for its commit,
/// the next runs its writes. More make smaller batches (SQLite: one, its single writer).
const PG_BATCHES_AT_ONCE: usize = 2;

/// A handle to the hsmca database; cloning it shares the connection pool.
///
/// Implements [`ca_core::store::CaStore`], [`ca_core::store::CertificateStore`],
/// [`ca_core::store::AuditStore`], [`ca_core::store::OcspStore`] and
/// [`ca_core::store::CrlStore`].
#[derive(Clone)]
pub struct Store {
    pool: Pool<ConnManager>,
    backend: &'static str,
    /// SQLite has one writer at a time; writers of this process queue here instead of
    /// meeting SQLITE_BUSY and sleeping in the busy handler (its back-off costs
    /// milliseconds). Other processes still wait through `busy_timeout`.
    sqlite_writer: Arc<Mutex<()>>,
    /// Gathers concurrent write operations into shared transactions.
    committer: Arc<Committer>,
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
        let batches_at_once = match backend {
            "sqlite" => 1,
            _ => PG_BATCHES_AT_ONCE.min(pool_size as usize),
        };
        Ok(Store {
            pool,
            backend,
            sqlite_writer: Default::default(),
            committer: Arc::new(Committer::new(batches_at_once)),
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        self.backend
    }

    /// How write operations of this handle and its clones have been grouped so far:
    /// batches (transactions) run, operations run in them, the largest batch, and how many
    /// operations are queued now. For tests and monitoring.
    pub fn stats(&self) -> WriteStats {
        self.committer.stats()
    }

    /// Runs a write job through the group committer; returns once it is committed.
    fn write(&self, job: batch::Job) -> Result<batch::JobOutput, StoreError> {
        self.committer.submit(self, job)
    }

    /// [`Store::write`] for a job with an audit event: returns the event's entry.
    fn write_audited(&self, job: batch::Job) -> Result<AuditEntry, StoreError> {
        let op = job.op().to_string();
        self.write(job)?
            .ok_or_else(|| StoreError::Backend(format!("{op}: no audit entry came back")))
    }

    /// Holds this process's SQLite write turn (nothing on PostgreSQL) for a write.
    fn write_turn(&self) -> Option<MutexGuard<'_, ()>> {
        (self.backend == "sqlite")
            .then(|| self.sqlite_writer.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A pooled connection, or `Backend` naming the operation that needed it.
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
