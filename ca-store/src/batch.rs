//! Write jobs, and running a batch of them in one transaction with one commit.
//!
//! A [`Job`] is the database work of one write operation, owning its data, so that
//! whichever caller leads a batch (see [`crate::committer`]) can run it: a write to the
//! rows of one certificate, an event for the audit log, or both.
//!
//! A batch is one transaction in three phases. First every job's write, in the order of
//! the certificate serials, so that two batches (of this process or another) that touch
//! the same certificates take their row locks in the same order and cannot deadlock;
//! writes to other tables (a signed CRL, [`crate::crl`]) come after all of those, in the
//! order of their keys.
//! Then, for the jobs whose writes succeeded and that revoke a certificate, the stored
//! OCSP responses of those certificates are marked stale ([`crate::ocsp::mark_stale`]):
//! that takes the OCSP revision counter's lock, which must come after every certificate
//! row lock (`put_ocsp_responses` holds certificate rows while it waits for the counter).
//! Then the audit events of the jobs whose writes succeeded: the audit lock, the last
//! entry read once, the events chained onto it in job order and inserted. That phase
//! takes no row locks, so holding the audit lock cannot deadlock either. A job alone in
//! its batch thereby issues the same statements, in the same order, as without batching
//! (a lone write without an event or OCSP step runs in autocommit mode).
//!
//! The first attempt runs the writes one after another. If one fails, the attempt is
//! rolled back and the batch runs again with each write in its own savepoint, so that
//! only the writes that fail are undone, and each reports its own error.

use ca_core::store::{AuditEntry, AuditEvent, StoreError, StoreResult};
use diesel::connection::SimpleConnection;

use crate::audit::append_chained;
use crate::bulk::Bulk;
use crate::conn::{write_transaction, DbConnection};
use crate::error::OpError;
use crate::models::secs;
use crate::ocsp::mark_stale;
use crate::{Store, MAX_RETRIES};

/// What a job gives back: the audit entry it appended, if it appends one.
pub(crate) type JobOutput = Option<AuditEntry>;

/// A job's write. It must pass every database error on (never swallow one: on
/// PostgreSQL a failed statement aborts the transaction, and only the write's failure
/// tells the batch to undo it), and may run more than once, in different transactions.
type Write = Box<dyn FnMut(&mut DbConnection) -> Result<(), OpError> + Send>;

/// The database work of one write operation.
pub(crate) struct Job {
    /// What the operation is, for error messages (`insert pending certificate …`).
    op: String,
    /// Serial (hex) of the certificate whose rows `write` touches; orders the writes. A
    /// write that touches no certificate but a row of another table (a CRL record) has a
    /// key of that row instead, starting with `~`: outside the hex alphabet and sorting
    /// after every serial, so its lock comes after every certificate row lock of the batch.
    row: Option<String>,
    write: Option<Write>,
    /// The event to append to the audit log once `write` has succeeded.
    event: Option<AuditEvent>,
    /// Once `write` has succeeded, mark the stored OCSP response of certificate `row`
    /// stale (if there is one), in the same transaction.
    stales_ocsp: bool,
    /// What `write` does, in a form that one statement can do for many jobs
    /// ([`crate::bulk`]).
    bulk: Option<Bulk>,
}

impl Job {
    /// A write of exactly one statement to the rows of certificate `row`, without an
    /// audit event. Alone in its batch it runs in autocommit mode (atomic for one
    /// statement).
    pub(crate) fn write(
        op: String,
        row: String,
        write: impl FnMut(&mut DbConnection) -> Result<(), OpError> + Send + 'static,
    ) -> Job {
        Job {
            op,
            row: Some(row),
            write: Some(Box::new(write)),
            event: None,
            stales_ocsp: false,
            bulk: None,
        }
    }

    /// A write to the rows of certificate `row` (or the row keyed `row`, see [`Job::row`])
    /// and `event` for the audit log, committed together or not at all.
    pub(crate) fn write_with_audit(
        op: String,
        row: String,
        write: impl FnMut(&mut DbConnection) -> Result<(), OpError> + Send + 'static,
        event: &AuditEvent,
    ) -> Job {
        Job {
            event: Some(truncated(event)),
            ..Job::write(op, row, write)
        }
    }

    /// `event` for the audit log, alone.
    pub(crate) fn audit(op: String, event: &AuditEvent) -> Job {
        Job {
            op,
            row: None,
            write: None,
            event: Some(truncated(event)),
            stales_ocsp: false,
            bulk: None,
        }
    }

    /// This job, which revokes certificate `row`, also marks that certificate's stored
    /// OCSP response stale, in its transaction, once its write has succeeded.
    pub(crate) fn marking_ocsp_stale(self) -> Job {
        Job {
            stales_ocsp: true,
            ..self
        }
    }

    /// This job, whose write does what `bulk` says, may have that done by one statement
    /// together with other jobs of its batch ([`crate::bulk`]).
    pub(crate) fn with_bulk(self, bulk: Bulk) -> Job {
        Job {
            bulk: Some(bulk),
            ..self
        }
    }

    /// The operation's description, as its error messages start.
    pub(crate) fn op(&self) -> &str {
        &self.op
    }
}

/// `event` with its time truncated to whole seconds, as it is stored.
fn truncated(event: &AuditEvent) -> AuditEvent {
    AuditEvent {
        at: secs(event.at),
        ..event.clone()
    }
}

/// The savepoint each write runs in on a second attempt.
const SAVEPOINT: &str = "SAVEPOINT hsmca_job";
/// Keeps a successful write and starts the next write's savepoint, in one round trip.
const NEXT_SAVEPOINT: &str = "RELEASE SAVEPOINT hsmca_job; SAVEPOINT hsmca_job";
/// Undoes a failed write; the savepoint stays, ready for the next write.
const UNDO_WRITE: &str = "ROLLBACK TO SAVEPOINT hsmca_job";

/// Runs `jobs` (at least one) and returns one result per job, in the same order.
///
/// A result is `Ok` only if the job's work is committed. When the batch as a whole fails
/// (no connection, the transaction cannot start, the audit append or the commit fails),
/// every job gets an error and nothing of the batch is committed.
pub(crate) fn run(store: &Store, mut jobs: Vec<Job>) -> Vec<StoreResult<JobOutput>> {
    let _turn = store.write_turn();
    let mut conn = match store.pool.get() {
        Ok(conn) => conn,
        Err(e) => return fail_all(&jobs, &format!("no database connection: {e}")),
    };
    if let [job @ Job {
        event: None,
        stales_ocsp: false,
        ..
    }] = jobs.as_mut_slice()
    {
        if let Some(write) = &mut job.write {
            return vec![write(&mut conn)
                .map(|()| None)
                .map_err(|e| e.into_store(&job.op))];
        }
    }
    run_in_transaction(&mut conn, &mut jobs)
}

/// Runs the batch in a transaction: optimistically, then, if a write failed, with
/// savepoints; again when its audit insert lost a race for the next sequence number.
fn run_in_transaction(conn: &mut DbConnection, jobs: &mut [Job]) -> Vec<StoreResult<JobOutput>> {
    // Writes in serial order (stable: one certificate's writes keep their queue order);
    // pure audit events (no rows) first.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by(|&a, &b| jobs[a].row.cmp(&jobs[b].row));
    let mut savepoints = false;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut write_failed = false;
        let outcome = write_transaction(conn, |c| {
            attempt_batch(c, jobs, &order, savepoints, &mut write_failed)
        });
        match outcome {
            Ok(results) => {
                return results
                    .into_iter()
                    .zip(jobs.iter())
                    .map(|(result, job)| result.map_err(|e| e.into_store(&job.op)))
                    .collect()
            }
            // Someone's write failed: again, each write in a savepoint of its own.
            Err(_) if write_failed && !savepoints && jobs.len() > 1 => savepoints = true,
            // Another process appended first (not expected while the audit lock is
            // held, but harmless): chain onto its entry instead.
            Err(e) if !write_failed && e.is_unique_violation() && attempt < MAX_RETRIES => {}
            Err(e) => {
                if let [job] = &*jobs {
                    return vec![Err(e.into_store(&job.op))];
                }
                let why = match e {
                    OpError::Db(e) => e.to_string(),
                    OpError::Store(e) => e.to_string(),
                };
                let why = format!(
                    "the transaction of a batch of {} writes failed, nothing of it was committed: {why}",
                    jobs.len()
                );
                return fail_all(jobs, &why);
            }
        }
    }
}

/// One attempt inside the transaction: the writes in `order`, then the OCSP responses
/// those writes make stale, then the audit events of the jobs whose writes succeeded.
/// Without `savepoints`, the first failing write fails the attempt (and sets
/// `write_failed`); with them, it is undone and reported alone.
fn attempt_batch(
    c: &mut DbConnection,
    jobs: &mut [Job],
    order: &[usize],
    savepoints: bool,
    write_failed: &mut bool,
) -> Result<Vec<Result<JobOutput, OpError>>, OpError> {
    let mut results: Vec<Option<Result<JobOutput, OpError>>> =
        std::iter::repeat_with(|| None).take(jobs.len()).collect();
    if savepoints {
        c.batch_execute(SAVEPOINT)?;
    }
    let mut done = vec![false; jobs.len()];
    if !savepoints {
        if let Err(e) = bulk_writes(c, jobs, order, &mut done) {
            *write_failed = true;
            return Err(e);
        }
    }
    for (pos, &i) in order.iter().enumerate() {
        let outcome = match &mut jobs[i].write {
            Some(_) if done[i] => Ok(()),
            Some(write) => write(c),
            None => Ok(()),
        };
        match outcome {
            Ok(()) => {
                if jobs[i].event.is_none() {
                    results[i] = Some(Ok(None));
                }
                if savepoints && pos + 1 < order.len() {
                    c.batch_execute(NEXT_SAVEPOINT)?;
                }
            }
            Err(e) if savepoints => {
                c.batch_execute(UNDO_WRITE)?;
                results[i] = Some(Err(e));
            }
            Err(e) => {
                *write_failed = true;
                return Err(e);
            }
        }
    }
    // Stale OCSP responses of the certificates that the succeeded writes revoked, in
    // serial order (as `order` is), after every certificate row lock of the batch.
    let stale: Vec<&str> = order
        .iter()
        .filter(|&&i| jobs[i].stales_ocsp && !matches!(results[i], Some(Err(_))))
        .filter_map(|&i| jobs[i].row.as_deref())
        .collect();
    if !stale.is_empty() {
        mark_stale(c, &stale)?;
    }
    // The events of the jobs whose writes succeeded, in the order the writes ran.
    let audited: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| results[i].is_none())
        .collect();
    let events: Vec<&AuditEvent> = audited
        .iter()
        .filter_map(|&i| jobs[i].event.as_ref())
        .collect();
    if !events.is_empty() {
        let entries = append_chained(c, &events)?;
        for (i, entry) in audited.into_iter().zip(entries) {
            results[i] = Some(Ok(Some(entry)));
        }
    }
    // Every job has its outcome now; were one missing, the batch fails as a whole.
    results
        .into_iter()
        .map(|r| {
            r.ok_or_else(|| {
                StoreError::Backend("a write of the batch got no outcome".into()).into()
            })
        })
        .collect()
}

/// When every write of the batch has a bulk form, does them with as few statements as
/// [`crate::bulk::run`] can and marks those jobs `done`. Only then: bulk statements take
/// their row locks (PostgreSQL) before the batch's other writes, which would break the
/// serial order of a batch's row locks that keeps concurrent batches from deadlocking.
fn bulk_writes(
    c: &mut DbConnection,
    jobs: &[Job],
    order: &[usize],
    done: &mut [bool],
) -> Result<(), OpError> {
    let writes = order.iter().filter(|&&i| jobs[i].write.is_some());
    if writes.clone().any(|&i| jobs[i].bulk.is_none()) {
        return Ok(());
    }
    let bulk: Vec<(usize, &Bulk)> = writes
        .filter_map(|&i| jobs[i].bulk.as_ref().map(|b| (i, b)))
        .collect();
    if bulk.len() > 1 {
        for i in crate::bulk::run(c, &bulk)? {
            done[i] = true;
        }
    }
    Ok(())
}

/// The same failure for every job, each message starting with the job's operation.
fn fail_all(jobs: &[Job], why: &str) -> Vec<StoreResult<JobOutput>> {
    jobs.iter()
        .map(|j| Err(StoreError::Backend(format!("{}: {why}", j.op))))
        .collect()
}

#[cfg(test)]
mod tests;
