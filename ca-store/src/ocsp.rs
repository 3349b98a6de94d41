//! [`OcspStore`]: pre-signed OCSP responses, their change feed, and delegated responders.
//!
//! # Revisions
//!
//! Every change to `ocsp_responses` gives the changed row a new `revision`, taken from the
//! single-row counter `ocsp_revision`. Responders follow the change feed by asking for
//! `revision > watermark` and moving the watermark to the highest revision they got, so
//! the feed must never show a row with a revision at or below a watermark that a
//! follower has already passed. A sequence would not do: two writers could take revisions
//! 5 and 6 and commit 6 first; a follower reading then would move past 5 for good.
//!
//! Instead, every transaction that changes `ocsp_responses` locks the counter row before
//! it changes anything there, takes its revisions from it, and holds the lock until it
//! commits. On PostgreSQL the row lock outlives the commit's becoming visible (locks are
//! released after the transaction is marked committed), so the next writer can only read
//! the counter once the previous writer's rows are visible to every new snapshot: writes
//! become visible in revision order. On SQLite the single write lock (`BEGIN IMMEDIATE`)
//! orders all writers already.
//!
//! Lock order, so that writers cannot deadlock: certificate rows (in serial order), then
//! the counter, then `ocsp_responses` rows, then (batches only) the audit-log lock.
//! [`CertificateStore::revoke`](ca_core::store::CertificateStore::revoke) therefore marks
//! the response stale in a phase of its batch after all the batch's certificate writes
//! (see [`crate::batch`] and [`mark_stale`]), not in its own write: a batch that took the
//! counter while revoking X and then waited for Y, held `FOR SHARE` by a put waiting for
//! the counter, would deadlock (the schedule of this module's PostgreSQL test).

use std::collections::{BTreeMap, HashMap, HashSet};

use ca_core::serial::Serial;
use ca_core::store::{
    CertStatus, CertificateRecord, OcspResponseRecord, OcspSignerRecord, OcspStore, StoreResult,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::conn::{write_transaction, DbConnection};
use crate::error::{db_error, OpError};
use crate::models::{secs, CertRow, OcspResponseRow, OcspSignerRow, RevocationRow};
use crate::schema::{certificates, ocsp_responses, ocsp_revision, ocsp_signers, revocations};
use crate::Store;

/// The most serials (or rows) one statement names: well under SQLite's limit on bound
/// values (32766), with nine values per inserted row.
const CHUNK: usize = 500;

/// The counter row's key.
const COUNTER: i32 = 1;

/// Locks the revision counter until the transaction ends and returns the last revision
/// handed out. On SQLite the transaction's write lock already keeps every other writer out.
fn lock_revisions(c: &mut DbConnection) -> Result<i64, OpError> {
    let query = ocsp_revision::table
        .find(COUNTER)
        .select(ocsp_revision::last);
    Ok(match c {
        DbConnection::Pg(pg) => query.for_update().first(pg)?,
        DbConnection::Sqlite(lite) => query.first(lite)?,
    })
}

/// Records that the revisions up to `last` are handed out (the counter must be locked).
fn set_last_revision(c: &mut DbConnection, last: i64) -> Result<(), OpError> {
    diesel::update(ocsp_revision::table.find(COUNTER))
        .set(ocsp_revision::last.eq(last))
        .execute(c)?;
    Ok(())
}

/// Marks the stored responses of `serials` (hex, ascending) stale, each with a new
/// revision. Certificates without a stored response are skipped; if none has one, the
/// counter is not touched (so revocations of such certificates do not queue on it).
///
/// The caller must hold the certificate rows (its revocation updated them): a concurrent
/// `put_ocsp_responses` for one of them holds the row `FOR SHARE` until it commits, so it
/// either committed before (and its row is seen here) or waits and then finds the
/// certificate revoked. No response of these serials can appear between the look-up and
/// the update.
pub(crate) fn mark_stale(c: &mut DbConnection, serials: &[&str]) -> Result<(), OpError> {
    let mut stored: Vec<String> = Vec::new();
    for chunk in serials.chunks(CHUNK) {
        stored.extend(
            ocsp_responses::table
                .filter(ocsp_responses::serial.eq_any(chunk))
                .select(ocsp_responses::serial)
                .load::<String>(c)?,
        );
    }
    if stored.is_empty() {
        return Ok(());
    }
    stored.sort();
    let mut revision = lock_revisions(c)?;
    for serial in &stored {
        revision += 1;
        diesel::update(ocsp_responses::table.find(serial))
            .set((
                ocsp_responses::stale.eq(1_i16),
                ocsp_responses::revision.eq(revision),
            ))
            .execute(c)?;
    }
    set_last_revision(c, revision)
}

/// The status of each of `serials` (hex, ascending) that is a certificate. On PostgreSQL
/// the rows are locked `FOR SHARE`, in serial order, until the transaction ends, so no
/// revocation can change them before the responses are written and committed.
fn lock_statuses(
    c: &mut DbConnection,
    serials: &[&str],
) -> Result<HashMap<String, String>, OpError> {
    let mut statuses = HashMap::with_capacity(serials.len());
    for chunk in serials.chunks(CHUNK) {
        let query = certificates::table
            .filter(certificates::serial.eq_any(chunk))
            .order(certificates::serial.asc())
            .select((certificates::serial, certificates::status));
        let rows: Vec<(String, String)> = match c {
            DbConnection::Pg(pg) => query.for_share().load(pg)?,
            DbConnection::Sqlite(lite) => query.load(lite)?,
        };
        statuses.extend(rows);
    }
    Ok(statuses)
}

/// The `this_update` of the stored response of each of `serials` that has one.
fn stored_this_updates(
    c: &mut DbConnection,
    serials: &[&str],
) -> Result<HashMap<String, NaiveDateTime>, OpError> {
    let mut stored = HashMap::new();
    for chunk in serials.chunks(CHUNK) {
        stored.extend(
            ocsp_responses::table
                .filter(ocsp_responses::serial.eq_any(chunk))
                .select((ocsp_responses::serial, ocsp_responses::this_update))
                .load::<(String, NaiveDateTime)>(c)?,
        );
    }
    Ok(stored)
}

/// Inserts `rows` with as few statements as the bound-value limit allows. The
/// backend-neutral connection cannot express a multi-row INSERT.
fn insert_rows(c: &mut DbConnection, rows: &[OcspResponseRow]) -> Result<(), OpError> {
    for chunk in rows.chunks(CHUNK) {
        let insert = diesel::insert_into(ocsp_responses::table).values(chunk);
        match c {
            DbConnection::Pg(pg) => insert.execute(pg)?,
            DbConnection::Sqlite(lite) => insert.execute(lite)?,
        };
    }
    Ok(())
}

/// `put_ocsp_responses` inside its transaction; see there.
fn put(c: &mut DbConnection, rows: Vec<OcspResponseRow>) -> Result<Vec<bool>, OpError> {
    // Serial order (stable: one serial's responses keep their order), for the lock order.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| rows[a].serial.cmp(&rows[b].serial));
    let mut serials: Vec<&str> = order.iter().map(|&i| rows[i].serial.as_str()).collect();
    serials.dedup();
    let statuses = lock_statuses(c, &serials)?;
    // From here on no other transaction changes ocsp_responses until this one ends, so
    // what is read next stays true until the commit.
    let last = lock_revisions(c)?;
    let mut latest = stored_this_updates(c, &serials)?;
    let existing: HashSet<String> = latest.keys().cloned().collect();

    // Decide in order, as if the responses were put one after another; of several stored
    // for one serial, the last one is the one written.
    let mut stored = vec![false; rows.len()];
    let mut winners: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in &order {
        let row = &rows[i];
        if statuses.get(&row.serial) != Some(&row.signed_for) {
            continue;
        }
        if latest
            .get(&row.serial)
            .is_some_and(|newest| *newest > row.this_update)
        {
            continue;
        }
        latest.insert(row.serial.clone(), row.this_update);
        winners.insert(&row.serial, i);
        stored[i] = true;
    }
    if winners.is_empty() {
        return Ok(stored);
    }
    let replaced: Vec<&str> = winners
        .keys()
        .copied()
        .filter(|s| existing.contains(*s))
        .collect();
    let write_order: Vec<usize> = winners.into_values().collect();

    // Replace = delete and insert: two statements per chunk instead of one per row.
    for chunk in replaced.chunks(CHUNK) {
        diesel::delete(ocsp_responses::table.filter(ocsp_responses::serial.eq_any(chunk)))
            .execute(c)?;
    }
    let mut slots: Vec<Option<OcspResponseRow>> = rows.into_iter().map(Some).collect();
    let mut revision = last;
    let mut fresh = Vec::with_capacity(write_order.len());
    for i in write_order {
        if let Some(mut row) = slots[i].take() {
            revision += 1;
            row.revision = revision;
            row.stale = 0;
            fresh.push(row);
        }
    }
    insert_rows(c, &fresh)?;
    set_last_revision(c, revision)?;
    Ok(stored)
}

impl OcspStore for Store {
    fn put_ocsp_responses(&self, responses: &[OcspResponseRecord]) -> StoreResult<Vec<bool>> {
        if responses.is_empty() {
            return Ok(Vec::new());
        }
        let op = format!("store {} OCSP response(s)", responses.len());
        let rows = responses
            .iter()
            .map(OcspResponseRow::new)
            .collect::<StoreResult<Vec<_>>>()?;
        let _turn = self.write_turn();
        let mut conn = self.conn(&op)?;
        write_transaction(&mut conn, |c| put(c, rows)).map_err(|e| e.into_store(&op))
    }

    fn ocsp_response(&self, serial: &Serial) -> StoreResult<Option<OcspResponseRecord>> {
        let op = format!("read OCSP response of certificate {serial}");
        let mut conn = self.conn(&op)?;
        let row = ocsp_responses::table
            .find(serial.to_hex())
            .select(OcspResponseRow::as_select())
            .first(&mut conn)
            .optional()
            .map_err(|e| db_error(&op, e))?;
        row.map(OcspResponseRecord::try_from).transpose()
    }

    fn ocsp_changes(&self, after: i64, limit: u32) -> StoreResult<Vec<OcspResponseRecord>> {
        let op = format!("read OCSP responses changed after revision {after}");
        let mut conn = self.conn(&op)?;
        let rows = ocsp_responses::table
            .filter(ocsp_responses::revision.gt(after))
            .order(ocsp_responses::revision.asc())
            .limit(i64::from(limit))
            .select(OcspResponseRow::as_select())
            .load(&mut conn)
            .map_err(|e| db_error(&op, e))?;
        rows.into_iter().map(OcspResponseRecord::try_from).collect()
    }

    fn ocsp_due(
        &self,
        ca_name: &str,
        signer: &str,
        signed_before: NaiveDateTime,
        now: NaiveDateTime,
        after: Option<&Serial>,
        limit: u32,
    ) -> StoreResult<Vec<CertificateRecord>> {
        let op = format!("list certificates of CA {ca_name:?} due for an OCSP response");
        let after = after.map(Serial::to_hex).unwrap_or_default();
        let answerable = [CertStatus::Issued.as_str(), CertStatus::Revoked.as_str()];
        let query = certificates::table
            .left_join(revocations::table)
            .left_join(ocsp_responses::table)
            .filter(certificates::ca_name.eq(ca_name))
            // Walks certificates_ca_serial from `after` in serial order: no sort, and no
            // certificate visited twice by one refresh.
            .filter(certificates::serial.gt(after))
            .filter(certificates::status.eq_any(answerable))
            .filter(certificates::not_after.ge(secs(now)))
            .filter(
                ocsp_responses::serial
                    .is_null()
                    .or(ocsp_responses::stale.ne(0_i16))
                    .or(ocsp_responses::signed_for.ne(certificates::status))
                    .or(ocsp_responses::signer.ne(signer))
                    .or(ocsp_responses::this_update.lt(secs(signed_before))),
            )
            .order(certificates::serial.asc())
            .limit(i64::from(limit))
            .select((CertRow::as_select(), Option::<RevocationRow>::as_select()));
        let mut conn = self.conn(&op)?;
        let rows = query
            .load::<(CertRow, Option<RevocationRow>)>(&mut conn)
            .map_err(|e| db_error(&op, e))?;
        rows.into_iter()
            .map(|(cert, rev)| cert.into_record(rev))
            .collect()
    }

    fn insert_ocsp_signer(&self, signer: &OcspSignerRecord) -> StoreResult<()> {
        let op = format!(
            "insert OCSP signer generation {} of CA {:?}",
            signer.generation, signer.ca_name
        );
        let _turn = self.write_turn();
        let mut conn = self.conn(&op)?;
        diesel::insert_into(ocsp_signers::table)
            .values(OcspSignerRow::from(signer))
            .execute(&mut conn)
            .map_err(|e| db_error(&op, e))?;
        Ok(())
    }

    fn ocsp_signer(&self, ca_name: &str) -> StoreResult<Option<OcspSignerRecord>> {
        let op = format!("read OCSP signer of CA {ca_name:?}");
        let mut conn = self.conn(&op)?;
        let row = ocsp_signers::table
            .filter(ocsp_signers::ca_name.eq(ca_name))
            .order(ocsp_signers::generation.desc())
            .select(OcspSignerRow::as_select())
            .first(&mut conn)
            .optional()
            .map_err(|e| db_error(&op, e))?;
        row.map(OcspSignerRecord::try_from).transpose()
    }
}

#[cfg(test)]
mod tests;
