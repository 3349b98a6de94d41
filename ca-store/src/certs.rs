//! [`CertificateStore`]: certificate records, revocations and CRL numbers.

use std::sync::Arc;

use ca_core::serial::Serial;
use ca_core::store::{
    AuditEntry, AuditEvent, CertFilter, CertStatus, CertificateRecord, CertificateStore,
    PendingCertificate, Revocation, SignedRecord, StoreError, StoreResult,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::batch::Job;
use crate::bulk::Bulk;
use crate::conn::{write_transaction, DbConnection};
use crate::error::{db_error, OpError};
use crate::models::{secs, CertRow, RevocationRow};
use crate::schema::{certificates, crl_numbers, revocations};
use crate::{Store, MAX_RETRIES};

const PENDING: &str = "pending";
const ISSUED: &str = "issued";
const REVOKED: &str = "revoked";

/// The status of `serial`, or `None` if there is no such certificate.
fn status_of(conn: &mut DbConnection, serial: &str) -> QueryResult<Option<String>> {
    certificates::table
        .find(serial)
        .select(certificates::status)
        .first(conn)
        .optional()
}

/// The write job of [`CertificateStore::revoke`]: the status change, the revocation row
/// and `audit`, and the serial's stored OCSP response marked stale, in one transaction.
pub(crate) fn revoke_job(revocation: &Revocation, audit: &AuditEvent) -> Job {
    let op = format!("revoke certificate {}", revocation.serial);
    let revocation_row = RevocationRow::from(revocation);
    let serial = revocation.serial.clone();
    let key = serial.to_hex();
    let row = key.clone();
    let write = move |c: &mut DbConnection| -> Result<(), OpError> {
        // Writing first makes the check and the change one step: on PostgreSQL a
        // concurrent revoke waits for this row lock, then finds nothing to update.
        let changed = diesel::update(
            certificates::table
                .filter(certificates::serial.eq(&key))
                .filter(certificates::status.eq_any([PENDING, ISSUED])),
        )
        .set(certificates::status.eq(CertStatus::Revoked.as_str()))
        .execute(c)?;
        if changed == 0 {
            return Err(match status_of(c, &key)? {
                None => StoreError::NotFound(format!("certificate {serial}")),
                Some(status) => StoreError::InvalidState(format!(
                    "certificate {serial} is {status}, not pending or issued"
                )),
            }
            .into());
        }
        diesel::insert_into(revocations::table)
            .values(&revocation_row)
            .execute(c)?;
        Ok(())
    };
    // The stored OCSP response is marked stale by the batch, in this same transaction,
    // after all of the batch's certificate writes rather than here: that takes the OCSP
    // revision counter's lock, which must come after every certificate row lock
    // (`put_ocsp_responses` holds certificate rows while it waits for the counter; see
    // `crate::ocsp`).
    Job::write_with_audit(op, row, write, audit).marking_ocsp_stale()
}

/// The write job of [`CertificateStore::insert_pending`].
fn pending_job(cert: &PendingCertificate) -> StoreResult<Job> {
    let op = format!("insert pending certificate {}", cert.serial);
    let row = Arc::new(CertRow::pending(cert)?);
    let bulk = Bulk::Pending(row.clone());
    Ok(Job::write(op, cert.serial.to_hex(), move |c| {
        diesel::insert_into(certificates::table)
            .values(&*row)
            .execute(c)?;
        Ok(())
    })
    .with_bulk(bulk))
}

/// The write job of [`CertificateStore::store_signed`]: the DER stored, the status
/// changed and `audit` appended, in one transaction.
fn signed_job(serial: &Serial, der: &[u8], at: NaiveDateTime, audit: &AuditEvent) -> Job {
    let op = format!("store signed certificate {serial}");
    let key = serial.to_hex();
    let at = secs(at);
    let der: Arc<[u8]> = der.into();
    let bulk = Bulk::Signed {
        serial: key.clone(),
        der: der.clone(),
        at,
    };
    let (row, serial) = (key.clone(), serial.clone());
    let write = move |c: &mut DbConnection| -> Result<(), OpError> {
        let unsigned = certificates::table
            .filter(certificates::serial.eq(&key))
            .filter(certificates::der.is_null());
        // Pending becomes issued; revoked-while-pending stays revoked and gains the DER.
        let issued = diesel::update(unsigned.filter(certificates::status.eq(PENDING)))
            .set((
                certificates::der.eq(&der[..]),
                certificates::issued_at.eq(at),
                certificates::status.eq(ISSUED),
            ))
            .execute(c)?;
        if issued == 1 {
            return Ok(());
        }
        let kept = diesel::update(unsigned.filter(certificates::status.eq(REVOKED)))
            .set((
                certificates::der.eq(&der[..]),
                certificates::issued_at.eq(at),
            ))
            .execute(c)?;
        if kept == 1 {
            return Ok(());
        }
        Err(match status_of(c, &key)? {
            None => StoreError::NotFound(format!("certificate {serial}")),
            Some(status) => StoreError::InvalidState(format!(
                "certificate {serial} ({status}) already has its signed DER stored"
            )),
        }
        .into())
    };
    Job::write_with_audit(op, row, write, audit).with_bulk(bulk)
}

impl CertificateStore for Store {
    fn insert_pending(&self, cert: &PendingCertificate) -> StoreResult<()> {
        self.write(pending_job(cert)?).map(|_| ())
    }

    /// The records go to the group committer together, so that up to its batch size they
    /// share one transaction; each succeeds or fails alone.
    fn insert_pending_all(&self, certs: &[PendingCertificate]) -> Vec<StoreResult<()>> {
        let mut results: Vec<Option<StoreResult<()>>> = Vec::with_capacity(certs.len());
        let mut jobs = Vec::with_capacity(certs.len());
        for cert in certs {
            match pending_job(cert) {
                Ok(job) => {
                    jobs.push(job);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        let mut done = self.committer.submit_all(self, jobs).into_iter();
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    done.next()
                        .unwrap_or_else(|| Err(StoreError::Backend("a write got no result".into())))
                        .map(|_| ())
                })
            })
            .collect()
    }

    fn store_signed(
        &self,
        serial: &Serial,
        der: &[u8],
        at: NaiveDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<AuditEntry> {
        self.write_audited(signed_job(serial, der, at, audit))
    }

    /// As [`CertificateStore::insert_pending_all`], for signed certificates.
    fn store_signed_all(&self, signed: &[SignedRecord]) -> Vec<StoreResult<AuditEntry>> {
        let jobs: Vec<Job> = signed
            .iter()
            .map(|s| signed_job(&s.serial, &s.der, s.at, &s.audit))
            .collect();
        self.committer
            .submit_all(self, jobs)
            .into_iter()
            .zip(signed)
            .map(|(r, s)| {
                r?.ok_or_else(|| {
                    StoreError::Backend(format!(
                        "store signed certificate {}: no audit entry came back",
                        s.serial
                    ))
                })
            })
            .collect()
    }

    fn certificate(&self, serial: &Serial) -> StoreResult<Option<CertificateRecord>> {
        let op = format!("read certificate {serial}");
        let mut conn = self.conn(&op)?;
        let row = certificates::table
            .left_join(revocations::table)
            .filter(certificates::serial.eq(serial.to_hex()))
            .select((CertRow::as_select(), Option::<RevocationRow>::as_select()))
            .first::<(CertRow, Option<RevocationRow>)>(&mut conn)
            .optional()
            .map_err(|e| db_error(&op, e))?;
        row.map(|(cert, rev)| cert.into_record(rev)).transpose()
    }

    /// One primary-key look-up per serial, in one statement per 500 serials.
    fn revoked_among(&self, serials: &[Serial]) -> StoreResult<Vec<Serial>> {
        let op = format!("read the status of {} certificates", serials.len());
        let mut conn = self.conn(&op)?;
        let mut revoked = Vec::new();
        for chunk in serials.chunks(500) {
            let keys: Vec<String> = chunk.iter().map(Serial::to_hex).collect();
            let found: Vec<String> = certificates::table
                .filter(certificates::serial.eq_any(&keys))
                .filter(certificates::status.eq(REVOKED))
                .select(certificates::serial)
                .load(&mut conn)
                .map_err(|e| db_error(&op, e))?;
            revoked.extend(
                chunk
                    .iter()
                    .zip(&keys)
                    .filter(|(_, k)| found.contains(k))
                    .map(|(s, _)| s.clone()),
            );
        }
        Ok(revoked)
    }

    fn list_certificates(&self, filter: &CertFilter) -> StoreResult<Vec<CertificateRecord>> {
        let op = "list certificates";
        let mut query = certificates::table
            .left_join(revocations::table)
            .select((CertRow::as_select(), Option::<RevocationRow>::as_select()))
            .order((certificates::created_at.asc(), certificates::serial.asc()))
            .into_boxed();
        if let Some(ca) = &filter.ca_name {
            query = query.filter(certificates::ca_name.eq(ca.clone()));
        }
        if let Some(status) = filter.status {
            query = query.filter(certificates::status.eq(status.as_str()));
        }
        if let Some(before) = filter.not_after_before {
            query = query.filter(certificates::not_after.lt(secs(before)));
        }
        if let Some(from) = filter.not_after_from {
            query = query.filter(certificates::not_after.ge(secs(from)));
        }
        if let Some(limit) = filter.limit {
            query = query.limit(i64::from(limit));
        }
        let mut conn = self.conn(op)?;
        let rows = query
            .load::<(CertRow, Option<RevocationRow>)>(&mut conn)
            .map_err(|e| db_error(op, e))?;
        rows.into_iter()
            .map(|(cert, rev)| cert.into_record(rev))
            .collect()
    }

    fn revoke(&self, revocation: &Revocation, audit: &AuditEvent) -> StoreResult<AuditEntry> {
        self.write_audited(revoke_job(revocation, audit))
    }

    fn next_crl_number(&self, ca_name: &str, shard: i32) -> StoreResult<i64> {
        let op = format!("next CRL number for CA {ca_name:?} shard {shard}");
        let _turn = self.write_turn();
        let mut conn = self.conn(&op)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = write_transaction(&mut conn, |c| {
                let counter = crl_numbers::table
                    .filter(crl_numbers::ca_name.eq(ca_name))
                    .filter(crl_numbers::shard.eq(shard));
                // The UPDATE takes the row lock (PostgreSQL) before reading the value back.
                let bumped = diesel::update(counter)
                    .set(crl_numbers::last_number.eq(crl_numbers::last_number + 1))
                    .execute(c)?;
                if bumped == 0 {
                    diesel::insert_into(crl_numbers::table)
                        .values((
                            crl_numbers::ca_name.eq(ca_name),
                            crl_numbers::shard.eq(shard),
                            crl_numbers::last_number.eq(1_i64),
                        ))
                        .execute(c)?;
                    return Ok(1);
                }
                Ok(counter.select(crl_numbers::last_number).first::<i64>(c)?)
            });
            match result {
                // Another process created the counter first: now the UPDATE will find it.
                Err(e) if e.is_unique_violation() && attempt < MAX_RETRIES => continue,
                other => return other.map_err(|e: OpError| e.into_store(&op)),
            }
        }
    }
}
