//! Issuing many requests at once (`hsmca issue --batch`, bulk enrolment): every
//! step of [`Issuance::issue_csr`] for every request, run as a pipeline so that the HSM is
//! not kept waiting for the database and the database commits many records at a time.
//!
//! Four stages run at once:
//! 1. **prepare** (one thread): a chunk of up to [`CHUNK`] requests is parsed,
//!    its signatures verified, keys checked, profile applied, serials allocated and TBS
//!    built and linted;
//! 2. **record** (one thread): the chunk's pending records (serial + TBS) are committed
//!    together ([`CertificateStore::insert_pending_all`]) while the next chunk is prepared;
//! 3. **sign** (`signers` threads): each recorded certificate is signed in the HSM, the
//!    signature verified with the CA's public key and the certificate assembled (a signer
//!    takes [`GROUP`] certificates at a time);
//! 4. **store** (one thread): signed certificates are stored with their audit entries,
//!    those that arrive within [`STORE_GATHER`] of each other (up to [`CHUNK`]) in one
//!    commit ([`CertificateStore::store_signed_all`]).
//!
//! Record-before-sign holds for each certificate: only a committed pending record reaches
//! stage 3, and a certificate is handed out only after stage 4 has stored it. A request
//! that fails gets its own error and leaves behind what [`Issuance::issue_csr`] would:
//! nothing if it failed before its record was committed, otherwise a pending record
//! that `reconcile` resolves. The other requests go on.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use const_oid::ObjectIdentifier;

use super::flow::{Issuance, IssuedFromCsr, Overrides};
use crate::error::{Error, Result};
use crate::issuer::IssuedCertificate;
use crate::store::{PendingCertificate, SignedRecord};

/// Requests prepared, and pending records committed, per chunk (the first chunk is one
/// [`GROUP`]); also the most signed certificates stored in one commit. Every commit is a
/// synced write whose CPU time the signing threads would otherwise get when the HSM signs
/// on the same cores (SoftHSM2): 128 instead of 64 left them about 1.5% more of it
/// (BENCHMARKS.md).
pub const CHUNK: usize = 128;

/// Certificates handed from stage to stage at a time (a signer takes this many, and
/// passes them on together): fewer hand-overs, fewer thread wake-ups. 16 instead of 8: a
/// third fewer context switches, about 1% more CPU for the signers.
pub const GROUP: usize = 16;

/// How long the store stage waits for more signed certificates to commit with the first
/// one it has (at most [`CHUNK`]). Bounds what batching adds to each certificate's time;
/// long enough for two signers to sign a chunk's worth of RSA-2048 certificates (at 5 ms
/// most commits held one group of eight).
pub const STORE_GATHER: Duration = Duration::from_millis(50);

/// What each request ended as, by its position in the input.
type Outcome = (usize, Result<IssuedFromCsr>);

/// Outcomes go to the calling thread a commit's worth at a time (errors one by one): one
/// thread wake-up per batch stored instead of one per certificate.
type Outcomes = Vec<Outcome>;

/// A prepared certificate on its way: stage 2 commits its pending record, and only then
/// passes it on to be signed.
struct Recorded {
    index: usize,
    pending: PendingCertificate,
    dropped: Vec<ObjectIdentifier>,
}

/// A certificate signed and verified, not yet stored (not to be handed out before it is).
struct Signed {
    index: usize,
    signed: SignedRecord,
    dropped: Vec<ObjectIdentifier>,
}

/// The error of a request whose certificate a later stage could not take, because that
/// stage stopped (it panicked). Its pending record stays for `reconcile`.
fn stage_gone(serial: &crate::serial::Serial) -> Error {
    Error::Encoding(format!(
        "serial {serial}: the issuing pipeline stopped before the certificate was stored; \
         its pending record is left for `hsmca reconcile`"
    ))
}

impl Issuance<'_> {
    /// Issues a certificate for each CSR in `csrs` (PEM or DER), with `signers` threads
    /// signing in the HSM at once (at least one). Returns one result per CSR, in order.
    ///
    /// Each request is checked and issued as by [`Issuance::issue_csr`], with the same
    /// `overrides` and time `now` for all; see the module documentation for how the work
    /// is overlapped.
    pub fn issue_csrs<C: AsRef<[u8]> + Sync>(
        &self,
        csrs: &[C],
        overrides: &Overrides,
        now: NaiveDateTime,
        signers: usize,
    ) -> Vec<Result<IssuedFromCsr>> {
        let mut outcomes: Vec<Option<Result<IssuedFromCsr>>> =
            std::iter::repeat_with(|| None).take(csrs.len()).collect();
        self.issue_csrs_each(csrs, overrides, now, signers, |index, outcome| {
            outcomes[index] = Some(outcome);
        });
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::Encoding("no outcome".into()))))
            .collect()
    }

    /// [`Issuance::issue_csrs`], handing each request's outcome to `each` (on the calling
    /// thread) as soon as it is known, by the request's position in `csrs`: a certificate
    /// once it is stored, an error once it occurs. Every position gets exactly one
    /// outcome before this returns, also when a stage panics (its requests get an error;
    /// those already recorded stay pending for `reconcile`).
    ///
    /// `now` is the time at the start; records, signatures and audit entries made later
    /// carry the time they were made.
    pub fn issue_csrs_each<C: AsRef<[u8]> + Sync>(
        &self,
        csrs: &[C],
        overrides: &Overrides,
        now: NaiveDateTime,
        signers: usize,
        mut each: impl FnMut(usize, Result<IssuedFromCsr>),
    ) {
        let (done_tx, done_rx) = mpsc::channel::<Outcomes>();
        // One chunk waits to be recorded while the next is prepared.
        let (record_tx, record_rx) = mpsc::sync_channel::<Vec<Recorded>>(1);
        let (sign_tx, sign_rx) = mpsc::sync_channel::<Vec<Recorded>>(2 * CHUNK / GROUP);
        let (store_tx, store_rx) = mpsc::sync_channel::<Vec<Signed>>(2 * CHUNK / GROUP);
        // Shared by the signers, and dropped with the last of them: if they all stop, the
        // record stage sees a closed channel instead of waiting on a full one.
        let sign_rx = Arc::new(Mutex::new(sign_rx));
        let clock = Clocked::from(now);
        let clock = &clock;
        let mut seen = vec![false; csrs.len()];
        std::thread::scope(|s| {
            for _ in 0..signers.max(1) {
                let (sign_rx, store_tx, done) =
                    (sign_rx.clone(), store_tx.clone(), done_tx.clone());
                s.spawn(move || guarded(|| self.sign_stage(&sign_rx, store_tx, done, clock)));
            }
            drop((store_tx, sign_rx));
            let done = done_tx.clone();
            s.spawn(move || guarded(|| self.store_stage(store_rx, done)));
            let done = done_tx.clone();
            s.spawn(move || guarded(|| self.record_stage(record_rx, sign_tx, done)));
            let done = done_tx;
            s.spawn(move || {
                guarded(|| self.prepare_stage(csrs, overrides, clock, record_tx, &done))
            });
            // Every stage holds a sender until it ends; this ends when all have.
            for (index, outcome) in done_rx.into_iter().flatten() {
                seen[index] = true;
                each(index, outcome);
            }
        });
        for (index, _) in seen.iter().enumerate().filter(|(_, seen)| !**seen) {
            each(
                index,
                Err(Error::Encoding(format!(
                    "request {index}: the issuing pipeline lost it (a stage panicked)"
                ))),
            );
        }
    }

    /// Stage 1: prepares each chunk and hands it to the recorder. Dropping `to_record`
    /// at the end lets the later stages finish.
    fn prepare_stage<C: AsRef<[u8]>>(
        &self,
        csrs: &[C],
        overrides: &Overrides,
        clock: &Clocked,
        to_record: SyncSender<Vec<Recorded>>,
        done: &Sender<Outcomes>,
    ) {
        let mut index = 0;
        // The first chunk is one group, so that the signers start after a few requests
        // instead of a whole chunk; the rest are whole chunks.
        let (first, rest) = csrs.split_at(csrs.len().min(GROUP));
        for chunk in std::iter::once(first).chain(rest.chunks(CHUNK)) {
            if chunk.is_empty() {
                continue;
            }
            // Each chunk's records carry the time they were made, so that a long batch's
            // later records do not look old to `reconcile` (which leaves young ones alone).
            let now = clock.now();
            let mut ready = Vec::with_capacity(chunk.len());
            for csr in chunk {
                match self.prepare_csr(csr.as_ref(), overrides, now) {
                    Ok((prepared, dropped)) => ready.push(Recorded {
                        index,
                        pending: prepared.pending,
                        dropped,
                    }),
                    Err(e) => {
                        let _ = done.send(vec![(index, Err(e))]);
                    }
                }
                index += 1;
            }
            if let Err(mpsc::SendError(lost)) = to_record.send(ready) {
                // The recorder stopped (it panicked): these were never recorded.
                for r in lost {
                    let _ = done.send(vec![(
                        r.index,
                        Err(Error::Encoding(
                            "the issuing pipeline stopped before the request was recorded".into(),
                        )),
                    )]);
                }
            }
        }
    }

    /// Stage 2: commits each prepared chunk's pending records together and passes the
    /// recorded certificates to the signers, while the next chunk is being prepared.
    fn record_stage(
        &self,
        from_prepare: Receiver<Vec<Recorded>>,
        to_sign: SyncSender<Vec<Recorded>>,
        done: Sender<Outcomes>,
    ) {
        for ready in from_prepare {
            let (rest, pendings): (Vec<_>, Vec<PendingCertificate>) = ready
                .into_iter()
                .map(|r| ((r.index, r.dropped), r.pending))
                .unzip();
            let recorded = self.certs.insert_pending_all(&pendings);
            let mut group = Vec::with_capacity(GROUP);
            for (((index, dropped), pending), result) in
                rest.into_iter().zip(pendings).zip(recorded)
            {
                match result {
                    Ok(()) => group.push(Recorded {
                        index,
                        pending,
                        dropped,
                    }),
                    Err(e) => {
                        let _ = done.send(vec![(index, Err(e.into()))]);
                    }
                }
                if group.len() == GROUP {
                    pass_on(&to_sign, std::mem::take(&mut group), &done);
                }
            }
            if !group.is_empty() {
                pass_on(&to_sign, group, &done);
            }
        }
    }

    /// Stage 3: signs and verifies what stage 2 recorded, until stage 2 is done.
    fn sign_stage(
        &self,
        from_record: &Mutex<Receiver<Vec<Recorded>>>,
        to_store: SyncSender<Vec<Signed>>,
        done: Sender<Outcomes>,
        clock: &Clocked,
    ) {
        loop {
            let next = from_record
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .recv();
            let Ok(group) = next else {
                return;
            };
            let now = clock.now();
            let mut signed_group = Vec::with_capacity(group.len());
            for Recorded {
                index,
                pending,
                dropped,
            } in group
            {
                match self
                    .issuer
                    .sign_verified(&pending, self.actor, now, "cert.sign")
                {
                    Ok(signed) => signed_group.push(Signed {
                        index,
                        signed,
                        dropped,
                    }),
                    Err(e) => {
                        let _ = done.send(vec![(index, Err(e))]);
                    }
                }
            }
            if let Err(mpsc::SendError(lost)) = to_store.send(signed_group) {
                for s in lost {
                    let _ = done.send(vec![(s.index, Err(stage_gone(&s.signed.serial)))]);
                }
                // Nothing more would be stored: sign no more. What is still to sign stays
                // pending, and the record stage reports it once every signer has stopped.
                return;
            }
        }
    }

    /// Stage 4: stores what the signers produced, gathering what arrives together into
    /// one commit, until every signer is done.
    fn store_stage(&self, from_sign: Receiver<Vec<Signed>>, done: Sender<Outcomes>) {
        while let Ok(first) = from_sign.recv() {
            let deadline = Instant::now() + STORE_GATHER;
            let mut batch = first;
            while batch.len() + GROUP <= CHUNK {
                let left = deadline.saturating_duration_since(Instant::now());
                match from_sign.recv_timeout(left) {
                    Ok(more) => batch.extend(more),
                    Err(_) => break,
                }
            }
            let (records, rest): (Vec<SignedRecord>, Vec<_>) = batch
                .into_iter()
                .map(|s| (s.signed, (s.index, s.dropped)))
                .unzip();
            let stored = self.certs.store_signed_all(&records);
            // One read for the commit: which of them were revoked while pending.
            let stored_serials: Vec<_> = records
                .iter()
                .zip(&stored)
                .filter(|(_, r)| r.is_ok())
                .map(|(s, _)| s.serial.clone())
                .collect();
            let revoked = if stored_serials.is_empty() {
                Ok(Vec::new())
            } else {
                self.certs.revoked_among(&stored_serials)
            };
            let outcomes = rest
                .into_iter()
                .zip(records)
                .zip(stored)
                .map(|(((index, dropped_extensions), record), result)| {
                    let outcome = result.map_err(Error::from).and_then(|_| {
                        let revoked_while_pending = match &revoked {
                            Ok(r) => r.contains(&record.serial),
                            Err(e) => {
                                return Err(crate::issuer::unknown_revocation(&record.serial, e))
                            }
                        };
                        Ok(IssuedFromCsr {
                            issued: IssuedCertificate {
                                revoked_while_pending,
                                ..IssuedCertificate::from(record)
                            },
                            dropped_extensions,
                        })
                    });
                    (index, outcome)
                })
                .collect();
            let _ = done.send(outcomes);
        }
    }
}

/// The time of a pipeline run: `now` as given at its start, moving on with the wall clock,
/// in whole seconds (as the store keeps times).
struct Clocked {
    start: NaiveDateTime,
    started: Instant,
}

impl From<NaiveDateTime> for Clocked {
    fn from(start: NaiveDateTime) -> Self {
        Clocked {
            start,
            started: Instant::now(),
        }
    }
}

impl Clocked {
    fn now(&self) -> NaiveDateTime {
        let elapsed = chrono::Duration::seconds(self.started.elapsed().as_secs() as i64);
        self.start + elapsed
    }
}

/// Runs a stage. A panic ends the stage, not the whole run: its channels close, the stages
/// around it see that and report their certificates as failed, and the requests it held
/// get an error at the end (see [`Issuance::issue_csrs_each`]).
fn guarded(stage: impl FnOnce()) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(stage));
}

/// Hands a group of recorded certificates to the signers; if they have stopped (a signer
/// panicked), each gets its error.
fn pass_on(to_sign: &SyncSender<Vec<Recorded>>, group: Vec<Recorded>, done: &Sender<Outcomes>) {
    if let Err(mpsc::SendError(lost)) = to_sign.send(group) {
        for r in lost {
            let _ = done.send(vec![(r.index, Err(stage_gone(&r.pending.serial)))]);
        }
    }
}
