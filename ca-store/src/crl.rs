//! [`CrlStore`]: the revoked certificates a CRL lists, and the record of CRLs signed.
//!
//! # Serial order
//!
//! Serials are stored as the lowercase hex text of their magnitude (`Serial::to_hex`), and
//! [`CrlStore::crl_entries`] orders by that stored text, under the column's collation (byte
//! order on SQLite; on PostgreSQL the database's collation, which is byte order for `C`
//! and orders `0`–`9` before `a`–`f` in the usual locales as well). For serials of one
//! length, as `Serial::random` makes all but 1 in 256 of them, that is numeric order;
//! across lengths it is not (`"0100"` comes before `"ff"`). The keyset bound `q.after` is compared in the same
//! order, by the database (`serial > hex of after`), so paging visits every entry exactly
//! once, all pages together in one increasing order, whatever the lengths. RFC 5280 does
//! not ask for any order of the entries.
//!
//! # Reading a million entries
//!
//! The query reads the index `certificates_crl (ca_name, crl_shard, serial, not_after)
//! WHERE status = 'revoked'` (a partial index: issuance never writes to it): equality on
//! CA and shard, then the serials after `q.after`
//! in index order, with the expiry bound checked in the index, so only revoked
//! certificates of that CA and shard are visited and their wide rows (TBS, DER) never are;
//! each entry costs one primary-key look-up of its revocation. The four columns selected
//! are decoded straight into [`CrlEntry`]s as the rows come, without an intermediate list.
//! For a delta (`revoked_from`), PostgreSQL may instead start from the recent revocations
//! (index `revocations_revoked_at`) when its statistics say they are few, and check each
//! in `certificates_crl`; SQLite keeps to the plan above.

use ca_core::serial::Serial;
use ca_core::store::{
    AuditEntry, AuditEvent, CrlEntry, CrlQuery, CrlRecord, CrlStore, StoreError, StoreResult,
};
use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;

use crate::batch::Job;
use crate::conn::DbConnection;
use crate::error::{corrupt, db_error, OpError};
use crate::models::{secs, CrlRow};
use crate::schema::{certificates, crls, revocations};
use crate::Store;

/// Entries allocated up front for a page, however large `q.limit` is.
const MAX_PREALLOCATED: usize = 65_536;

/// How many of the newest revocations since a CRL [`CrlStore::last_revocation_since`]
/// looks through before it reads the shard's own revoked certificates instead: enough for
/// the revocations between two CRLs in all but a mass revocation, and a few milliseconds
/// of primary-key look-ups. Reading the shard's revoked certificates costs time in
/// proportion to them (0.4 s at a million on SQLite); reading every revocation since the
/// CRL, in proportion to those (2.5 s for a million revoked in another CA).
const RECENT_PROBE: i64 = 1000;

/// The batch key of a write to `crls` (see `Job::row`): outside the hex alphabet of
/// serials and after all of them (`~` sorts after `f`), so a batch takes every certificate
/// row lock before any `crls` key, and the `crls` keys in one order. The CA name comes
/// last, so distinct rows have distinct keys.
fn crl_key(crl: &CrlRecord) -> String {
    format!("~crl/{}/{}/{}", crl.shard, crl.number, crl.ca_name)
}

/// The serial stored as `text`: even-length hex without leading zero octets, as
/// `Serial::to_hex` writes it, decoded without the intermediate strings of
/// `Serial::parse` (which reads user input). Anything else goes through `Serial::parse`.
fn stored_serial(text: &str) -> Result<Serial, StoreError> {
    let mut octets = [0_u8; 20];
    let len = text.len() / 2;
    if text.len().is_multiple_of(2) && len <= octets.len() {
        if let Ok(()) = hex::decode_to_slice(text, &mut octets[..len]) {
            return Serial::from_bytes(&octets[..len]).map_err(|e| corrupt("serial", e));
        }
    }
    Serial::parse(text).map_err(|e| corrupt("serial", e))
}

/// One row of the `crl_entries` query.
type EntryRow = (String, NaiveDateTime, i16, Option<NaiveDateTime>);

fn entry(row: EntryRow) -> Result<CrlEntry, StoreError> {
    let (serial, revoked_at, reason, invalidity_date) = row;
    Ok(CrlEntry {
        serial: stored_serial(&serial)?,
        revoked_at,
        reason: u8::try_from(reason).map_err(|_| corrupt("revocation reason", reason))?,
        invalidity_date,
    })
}

/// `certificates.status = 'revoked'`, written as a literal rather than a bound value:
/// `certificates_crl` is a partial index of the revoked certificates, and neither
/// SQLite's nor PostgreSQL's planner uses a partial index for a condition on a bound
/// parameter.
fn revoked_only() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("certificates.status = 'revoked'")
}

impl CrlStore for Store {
    fn crl_entries(&self, q: &CrlQuery) -> StoreResult<Vec<CrlEntry>> {
        let op = format!(
            "read CRL entries of CA {:?} shard {}{}",
            q.ca_name,
            q.shard,
            q.after
                .as_ref()
                .map(|s| format!(" after serial {s}"))
                .unwrap_or_default()
        );
        // Only the columns the entries need; the order is that of the stored serial text,
        // and `after` is compared in that same order (see the module documentation).
        let mut query = certificates::table
            .inner_join(revocations::table)
            .filter(certificates::ca_name.eq(&q.ca_name))
            .filter(certificates::crl_shard.eq(q.shard))
            .filter(revoked_only())
            .filter(certificates::not_after.ge(secs(q.not_after_from)))
            .order(certificates::serial.asc())
            .limit(i64::from(q.limit))
            .select((
                certificates::serial,
                revocations::revoked_at,
                revocations::reason,
                revocations::invalidity_date,
            ))
            .into_boxed();
        if let Some(from) = q.revoked_from {
            query = query.filter(revocations::revoked_at.ge(secs(from)));
        }
        if let Some(after) = &q.after {
            let after = after.to_hex();
            // The bound on the revocations side is implied by the join, but PostgreSQL does
            // not carry inequalities across it: without it, a merge join walks the
            // revocations' primary key from its first serial on every page.
            query = query
                .filter(certificates::serial.gt(after.clone()))
                .filter(revocations::serial.gt(after));
        }
        let mut conn = self.conn(&op)?;
        let rows = query
            .load_iter::<EntryRow, DefaultLoadingMode>(&mut conn)
            .map_err(|e| db_error(&op, e))?;
        let mut entries = Vec::with_capacity((q.limit as usize).min(MAX_PREALLOCATED));
        for row in rows {
            entries.push(entry(row.map_err(|e| db_error(&op, e))?)?);
        }
        Ok(entries)
    }

    fn record_crl(&self, crl: &CrlRecord, audit: &AuditEvent) -> StoreResult<AuditEntry> {
        let op = format!(
            "record CRL {} of CA {:?} shard {}",
            crl.number, crl.ca_name, crl.shard
        );
        let row = CrlRow::from(crl);
        let write = move |c: &mut DbConnection| -> Result<(), OpError> {
            // A taken (CA, shard, number) fails here with a unique violation: `Conflict`.
            diesel::insert_into(crls::table).values(&row).execute(c)?;
            Ok(())
        };
        self.write_audited(Job::write_with_audit(op, crl_key(crl), write, audit))
    }

    fn latest_crl(&self, ca_name: &str, shard: i32, delta: bool) -> StoreResult<Option<CrlRecord>> {
        let kind = if delta { "delta" } else { "full" };
        let op = format!("read latest {kind} CRL of CA {ca_name:?} shard {shard}");
        let of_shard = crls::table
            .filter(crls::ca_name.eq(ca_name))
            .filter(crls::shard.eq(shard))
            .order(crls::number.desc())
            .select(CrlRow::as_select());
        let mut conn = self.conn(&op)?;
        let row = if delta {
            of_shard
                .filter(crls::base_number.is_not_null())
                .first(&mut conn)
        } else {
            of_shard
                .filter(crls::base_number.is_null())
                .first(&mut conn)
        };
        Ok(row
            .optional()
            .map_err(|e| db_error(&op, e))?
            .map(CrlRecord::from))
    }

    fn list_crls(&self, ca_name: Option<&str>, limit: u32) -> StoreResult<Vec<CrlRecord>> {
        let op = match ca_name {
            Some(ca) => format!("list CRLs of CA {ca:?}"),
            None => "list CRLs".to_string(),
        };
        // Then CA and shard, so that CRLs alike in both come in one order; the indexes
        // crls_this_update and crls_ca_this_update give this order without a sort.
        let newest_first = crls::table
            .order((
                crls::this_update.desc(),
                crls::number.desc(),
                crls::ca_name.desc(),
                crls::shard.desc(),
            ))
            .limit(i64::from(limit))
            .select(CrlRow::as_select());
        let mut conn = self.conn(&op)?;
        let rows = match ca_name {
            Some(ca) => newest_first.filter(crls::ca_name.eq(ca)).load(&mut conn),
            None => newest_first.load(&mut conn),
        }
        .map_err(|e| db_error(&op, e))?;
        Ok(rows.into_iter().map(CrlRecord::from).collect())
    }

    fn last_revocation_since(
        &self,
        ca_name: &str,
        shard: i32,
        since: NaiveDateTime,
    ) -> StoreResult<Option<NaiveDateTime>> {
        let op = format!("read last revocation of CA {ca_name:?} shard {shard}");
        let mut conn = self.conn(&op)?;
        let of_shard = || {
            certificates::table
                .filter(certificates::ca_name.eq(ca_name))
                .filter(certificates::crl_shard.eq(shard))
                .filter(revoked_only())
        };
        // First the newest revocations since `since`, of every CA and shard (index
        // revocations_revoked_at), at most RECENT_PROBE of them, and which of those are of
        // this CA and shard (primary-key look-ups). Usually that answers: few revocations
        // since the last CRL, or a recent one of this shard among them.
        let recent: Vec<(String, NaiveDateTime)> = revocations::table
            .filter(revocations::revoked_at.ge(secs(since)))
            .order(revocations::revoked_at.desc())
            .select((revocations::serial, revocations::revoked_at))
            .limit(RECENT_PROBE)
            .load(&mut conn)
            .map_err(|e| db_error(&op, e))?;
        let serials: Vec<&str> = recent.iter().map(|(s, _)| s.as_str()).collect();
        let mine: std::collections::HashSet<String> = of_shard()
            .filter(certificates::serial.eq_any(&serials))
            .select(certificates::serial)
            .load(&mut conn)
            .map_err(|e| db_error(&op, e))?
            .into_iter()
            .collect();
        if let Some((_, at)) = recent.iter().find(|(s, _)| mine.contains(s)) {
            return Ok(Some(*at));
        }
        if recent.len() < RECENT_PROBE as usize {
            return Ok(None);
        }
        // More revocations since `since` than probed, none of them of this shard (a mass
        // revocation elsewhere): the shard's own revoked certificates, through
        // certificates_crl, bounded by the shard's size instead of everyone's revocations.
        of_shard()
            .inner_join(revocations::table)
            .filter(revocations::revoked_at.ge(secs(since)))
            .order(revocations::revoked_at.desc())
            .select(revocations::revoked_at)
            .first::<NaiveDateTime>(&mut conn)
            .optional()
            .map_err(|e| db_error(&op, e))
    }
}
