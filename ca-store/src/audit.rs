//! [`AuditStore`]: the hash-chained, append-only audit log.

use ca_core::audit::chain;
use ca_core::store::{AuditEntry, AuditEvent, AuditStore, StoreResult};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::batch::Job;
use crate::conn::DbConnection;
use crate::error::{db_error, OpError};
use crate::models::AuditRow;
use crate::schema::audit_log;
use crate::Store;

/// On PostgreSQL, appenders queue on this lock instead of racing for the next sequence
/// number; readers are not blocked. (SQLite's `BEGIN IMMEDIATE` serialises writers.)
const PG_AUDIT_LOCK: &str = "LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE";

/// Appends `events`, in order, after the last entry of the log, and returns their
/// entries. Takes the audit lock first (PostgreSQL), so that the last entry stays the
/// last until the transaction commits; the caller takes no row locks after this.
pub(crate) fn append_chained(
    c: &mut DbConnection,
    events: &[&AuditEvent],
) -> Result<Vec<AuditEntry>, OpError> {
    if let DbConnection::Pg(_) = c {
        c.batch_execute(PG_AUDIT_LOCK)?;
    }
    let mut last = audit_log::table
        .order(audit_log::seq.desc())
        .select(AuditRow::as_select())
        .first(c)
        .optional()?
        .map(AuditEntry::from);
    let mut entries = Vec::with_capacity(events.len());
    for event in events {
        let entry = chain(last.as_ref(), event);
        last = Some(entry.clone());
        entries.push(entry);
    }
    let rows: Vec<AuditRow> = entries.iter().map(AuditRow::from).collect();
    if let [row] = rows.as_slice() {
        // Alone, the single-row INSERT, whose prepared statement diesel caches.
        diesel::insert_into(audit_log::table)
            .values(row)
            .execute(c)?;
    } else {
        // Several, one multi-row INSERT: prepared each time (diesel does not cache those,
        // a round trip more on PostgreSQL), still fewer round trips than one per row.
        // The backend-neutral connection cannot express it.
        let insert = diesel::insert_into(audit_log::table).values(&rows);
        match c {
            DbConnection::Pg(pg) => insert.execute(pg)?,
            DbConnection::Sqlite(lite) => insert.execute(lite)?,
        };
    }
    Ok(entries)
}

impl AuditStore for Store {
    fn append_audit(&self, event: &AuditEvent) -> StoreResult<AuditEntry> {
        let op = format!("append audit event {:?}", event.action);
        self.write_audited(Job::audit(op, event))
    }

    fn audit_entries(&self, from: i64, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let op = format!("read audit entries from {from}");
        let mut conn = self.conn(&op)?;
        let rows = audit_log::table
            .filter(audit_log::seq.ge(from))
            .order(audit_log::seq.asc())
            .limit(i64::from(limit))
            .select(AuditRow::as_select())
            .load(&mut conn)
            .map_err(|e| db_error(&op, e))?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }
}
