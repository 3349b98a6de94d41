//! [`AuditStore`]: the hash-chained, append-only audit log.

use ca_core::audit::chain;
use ca_core::store::{AuditEntry, AuditEvent, AuditStore, StoreResult};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::conn::{write_transaction, DbConnection};
use crate::error::{db_error, OpError};
use crate::models::{secs, AuditRow};
use crate::schema::audit_log;
use crate::{Store, MAX_RETRIES};

/// Runs `write` and appends `event` to the audit log in one write transaction, retrying the
/// whole transaction when a concurrent appender took the next sequence number first.
pub(crate) fn write_with_audit(
    conn: &mut DbConnection,
    op: &str,
    mut write: impl FnMut(&mut DbConnection) -> Result<(), OpError>,
    event: &AuditEvent,
) -> StoreResult<AuditEntry> {
    let event = AuditEvent {
        at: secs(event.at),
        ..event.clone()
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = write_transaction(conn, |c| {
            write(c)?;
            if let DbConnection::Pg(_) = c {
                // Appenders queue here instead of racing for the next seq and retrying;
                // readers are not blocked. (SQLite's IMMEDIATE transaction does the same.)
                c.batch_execute("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")?;
            }
            let last = audit_log::table
                .order(audit_log::seq.desc())
                .select(AuditRow::as_select())
                .first(c)
                .optional()?
                .map(AuditEntry::from);
            let entry = chain(last.as_ref(), &event);
            diesel::insert_into(audit_log::table)
                .values(AuditRow::from(&entry))
                .execute(c)?;
            Ok(entry)
        });
        match result {
            // A concurrent appender took this seq first: chain onto its entry instead.
            Err(e) if e.is_unique_violation() && attempt < MAX_RETRIES => continue,
            other => return other.map_err(|e: OpError| e.into_store(op)),
        }
    }
}

impl AuditStore for Store {
    fn append_audit(&self, event: &AuditEvent) -> StoreResult<AuditEntry> {
        let op = format!("append audit event {:?}", event.action);
        let event = AuditEvent {
            at: secs(event.at),
            ..event.clone()
        };
        let _turn = self.write_turn();
        let mut conn = self.conn(&op)?;
        write_with_audit(&mut conn, &op, |_| Ok(()), &event)
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
