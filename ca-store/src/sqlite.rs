//! Per-connection SQLite setup: WAL journal, busy timeout, foreign keys, `synchronous =
//! FULL`, a checkpoint every 10,000 WAL pages, and temporary files in memory.
//!
//! `FULL`: in WAL mode every commit waits until the WAL is on disk, so a committed record
//! (a signed certificate, a revocation, a CRL number) survives a power loss. `NORMAL`
//! syncs only at checkpoints: a power loss could take back the last commits, and with them
//! the record of a certificate already handed out. The group committer and the issuing
//! pipeline share one sync among many records.
//!
//! A checkpoint every 10,000 WAL pages (about 40 MiB) instead of SQLite's 1,000: a page
//! that issuance changes again and again (index pages, the audit log's last page) is
//! copied back into the database file once per checkpoint, so fewer checkpoints copy less.
//!
//! `temp_store = MEMORY`: a statement that changes many rows inside a transaction (the
//! issuing pipeline's multi-row `INSERT` and `UPDATE`, see `bulk.rs`) keeps a statement
//! journal, to undo just that statement if it fails. Past 64 KiB SQLite spills it to a
//! temporary file, which costs a write system call per page; in memory it costs a copy. It
//! holds the pages one statement changes (up to about a MiB for 128 certificates) and is
//! dropped when the statement ends. The setting also keeps sorts that spill (ORDER BY
//! without an index) in memory: the only such query, `list_certificates` without a limit,
//! returns all its rows at once anyway, so it at most doubles what that call holds; with a
//! limit SQLite keeps only the top rows.

use std::thread::sleep;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl, SqliteConnection};

/// Settings that hold for one connection. `busy_timeout` first, so that everything after
/// it waits for other connections' locks instead of failing.
const CONNECTION_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; \
     PRAGMA foreign_keys = ON; \
     PRAGMA synchronous = FULL; \
     PRAGMA wal_autocheckpoint = 10000; \
     PRAGMA temp_store = MEMORY;";

/// How long to keep trying to switch a new database file to WAL (as `busy_timeout`).
const WAL_SWITCH_DEADLINE: Duration = Duration::from_secs(10);

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

/// Applies the pragmas and makes sure the database is in WAL mode.
///
/// WAL mode is a property of the file, but switching to it needs an exclusive lock, and
/// SQLite answers "database is locked" at once, without waiting out `busy_timeout`, when
/// several connections open a new file together. So the switch is retried until the
/// file reports `wal` (set by this connection or another) or the deadline passes.
pub(crate) fn set_up(conn: &mut SqliteConnection) -> Result<(), String> {
    conn.batch_execute(CONNECTION_PRAGMAS)
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + WAL_SWITCH_DEADLINE;
    loop {
        match diesel::sql_query("PRAGMA journal_mode = WAL").get_result::<JournalMode>(conn) {
            Ok(mode) if mode.journal_mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(format!(
                    "the database stays in journal mode {:?}; WAL is required",
                    mode.journal_mode
                ))
            }
            Err(e) if Instant::now() < deadline && e.to_string().contains("locked") => {
                sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("switching to WAL: {e}")),
        }
    }
}
