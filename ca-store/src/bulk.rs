//! One statement for many jobs of a batch, on PostgreSQL: the pending records of a batch
//! in one multi-row `INSERT`, the signed certificates of a batch in one `UPDATE`.
//!
//! Each job's own write is one statement, and on PostgreSQL every statement is a round
//! trip, and every `UPDATE` is parsed and planned anew (diesel does not keep prepared
//! `UPDATE`s). For a batch of 64 certificates that was 64 round trips and 64 plans; here it
//! is one or two. The statements do exactly what the jobs' own writes would, for all of them
//! or, if any one of them would fail (a serial that exists, a certificate whose DER is
//! stored already), for none: [`run`] then reports a write failure, the batch's transaction
//! is rolled back, and the batch runs again with each job's own write in its own savepoint
//! ([`crate::batch`]), which gives every job its own precise outcome.
//!
//! On SQLite a statement is a function call, not a round trip, but each one still costs
//! diesel's query building and SQLite's statement set-up, and every `UPDATE` is compiled
//! anew: the same two statements, in SQLite's syntax, do the work there too.

use std::sync::Arc;

use ca_core::store::StoreError;
use chrono::NaiveDateTime;
use diesel::pg::PgConnection;
use diesel::sql_types::{Array, Binary, Text, Timestamp};
use diesel::{RunQueryDsl, SqliteConnection};

use crate::conn::DbConnection;
use crate::error::OpError;
use crate::models::{CertRow, CERT_COLUMNS};
use crate::schema::certificates;

/// The part of a job's write that a bulk statement can do for many jobs at once.
pub(crate) enum Bulk {
    /// Insert this pending certificate row (shared with the job's own write).
    Pending(Arc<CertRow>),
    /// Store the signed DER of certificate `serial`, pending (it becomes issued) or revoked
    /// while pending (it stays revoked), whose DER is not stored yet.
    Signed {
        /// Serial, hex.
        serial: String,
        /// The certificate (shared with the job's own write).
        der: Arc<[u8]>,
        /// When it was stored (whole seconds).
        at: NaiveDateTime,
    },
}

/// Locks the certificate rows of the serials in `$1`, in serial order: the order every
/// batch takes its row locks in (see [`crate::batch`]), which an `UPDATE … FROM` does not
/// promise to follow.
const LOCK_IN_ORDER: &str =
    "SELECT serial FROM certificates WHERE serial = ANY($1) ORDER BY serial FOR UPDATE";

/// The job's write of [`crate::certs`]' `signed_job`, for every serial of `$1` at once.
const STORE_SIGNED: &str = "UPDATE certificates AS c \
     SET der = v.der, issued_at = v.at, \
         status = CASE WHEN c.status = 'pending' THEN 'issued' ELSE c.status END \
     FROM unnest($1::text[], $2::bytea[], $3::timestamp[]) AS v(serial, der, at) \
     WHERE c.serial = v.serial AND c.der IS NULL AND c.status IN ('pending', 'revoked')";

/// Does the bulk parts of `jobs` (given in the batch's write order), two or more of a
/// kind in one statement, and returns which jobs are done. A kind with a single job is
/// left to that job's own write. An `Err` means at least one job of a bulk statement would
/// fail on its own: nothing can be told about which, and the transaction must be rolled
/// back.
pub(crate) fn run(c: &mut DbConnection, jobs: &[(usize, &Bulk)]) -> Result<Vec<usize>, OpError> {
    let mut done = Vec::new();
    let pending: Vec<(usize, &CertRow)> = jobs
        .iter()
        .filter_map(|(i, b)| match b {
            Bulk::Pending(row) => Some((*i, &**row)),
            Bulk::Signed { .. } => None,
        })
        .collect();
    if pending.len() > 1 {
        let rows: Vec<&CertRow> = pending.iter().map(|(_, r)| *r).collect();
        match c {
            DbConnection::Pg(pg) => {
                diesel::insert_into(certificates::table)
                    .values(rows)
                    .execute(pg)?;
            }
            DbConnection::Sqlite(lite) => insert_sqlite(lite, &rows)?,
        }
        done.extend(pending.iter().map(|(i, _)| *i));
    }
    let signed: Vec<SignedItem<'_>> = jobs
        .iter()
        .filter_map(|(i, b)| match b {
            Bulk::Signed { serial, der, at } => Some((*i, serial.as_str(), &der[..], *at)),
            Bulk::Pending(_) => None,
        })
        .collect();
    if signed.len() > 1 {
        let stored = match c {
            DbConnection::Pg(pg) => store_pg(pg, &signed)?,
            DbConnection::Sqlite(lite) => store_sqlite(lite, &signed)?,
        };
        if stored != signed.len() {
            return Err(StoreError::InvalidState(format!(
                "{} of {} certificates could not be stored together",
                signed.len() - stored,
                signed.len()
            ))
            .into());
        }
        done.extend(signed.iter().map(|s| s.0));
    }
    Ok(done)
}

/// A certificate to store: job index, serial, DER, time.
type SignedItem<'a> = (usize, &'a str, &'a [u8], NaiveDateTime);

/// PostgreSQL: locks the rows in serial order, then one `UPDATE` from arrays.
fn store_pg(pg: &mut PgConnection, signed: &[SignedItem<'_>]) -> Result<usize, OpError> {
    let serials: Vec<&str> = signed.iter().map(|s| s.1).collect();
    let ders: Vec<&[u8]> = signed.iter().map(|s| s.2).collect();
    let ats: Vec<NaiveDateTime> = signed.iter().map(|s| s.3).collect();
    diesel::sql_query(LOCK_IN_ORDER)
        .bind::<Array<Text>, _>(&serials)
        .execute(pg)?;
    Ok(diesel::sql_query(STORE_SIGNED)
        .bind::<Array<Text>, _>(&serials)
        .bind::<Array<Binary>, _>(&ders)
        .bind::<Array<Timestamp>, _>(&ats)
        .execute(pg)?)
}

/// SQLite: one multi-row `INSERT` (diesel's own would insert row by row, for the NULL
/// columns).
fn insert_sqlite(lite: &mut SqliteConnection, rows: &[&CertRow]) -> Result<(), OpError> {
    let row = format!("({})", vec!["?"; 14].join(", "));
    let sql = format!(
        "INSERT INTO certificates ({CERT_COLUMNS}) VALUES {}",
        vec![row.as_str(); rows.len()].join(", ")
    );
    let mut q = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
    for r in rows {
        q = r.bind_sqlite(q);
    }
    q.execute(lite)?;
    Ok(())
}

/// SQLite: one `UPDATE … FROM (VALUES …)`; SQLite has a single writer, so no row locks to
/// order.
fn store_sqlite(lite: &mut SqliteConnection, signed: &[SignedItem<'_>]) -> Result<usize, OpError> {
    let values = vec!["(?, ?, ?)"; signed.len()].join(", ");
    let sql = format!(
        "UPDATE certificates \
         SET der = v.der, issued_at = v.at, \
             status = CASE WHEN certificates.status = 'pending' THEN 'issued' \
                      ELSE certificates.status END \
         FROM (SELECT column1 AS serial, column2 AS der, column3 AS at FROM (VALUES {values})) AS v \
         WHERE certificates.serial = v.serial AND certificates.der IS NULL \
           AND certificates.status IN ('pending', 'revoked')"
    );
    let mut q = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
    for (_, serial, der, at) in signed {
        q = q
            .bind::<Text, _>(*serial)
            .bind::<Binary, _>(*der)
            .bind::<Timestamp, _>(*at);
    }
    Ok(q.execute(lite)?)
}
