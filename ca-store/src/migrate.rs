//! The embedded schema migrations, one directory per backend, run by [`crate::Store::open`].

use ca_core::store::StoreError;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::conn::DbConnection;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key of the PostgreSQL advisory lock held while migrating ("hsmca-mi" in ASCII), so
/// that nodes starting together do not race to create the same tables.
const PG_MIGRATION_LOCK: i64 = 0x6873_6d63_612d_6d69;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Applies every migration that the database has not seen yet.
pub(crate) fn run(conn: &mut DbConnection) -> Result<(), StoreError> {
    let result = match conn {
        DbConnection::Pg(c) => run_pg(c),
        DbConnection::Sqlite(c) => run_sqlite(c),
    };
    result.map_err(|e| StoreError::Backend(format!("running database migrations: {e}")))
}

fn run_pg(conn: &mut PgConnection) -> Result<(), BoxError> {
    conn.transaction::<_, BoxError, _>(|c| {
        c.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})"
        ))?;
        c.run_pending_migrations(POSTGRES)?;
        Ok(())
    })
}

fn run_sqlite(conn: &mut SqliteConnection) -> Result<(), BoxError> {
    // The write lock, taken up front, keeps a second process out until this one is done;
    // each migration then runs in a savepoint.
    conn.immediate_transaction::<_, BoxError, _>(|c| {
        c.run_pending_migrations(SQLITE)?;
        Ok(())
    })
}
