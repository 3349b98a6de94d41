//! Group commit: concurrent writes share transactions, and each keeps its own outcome.

use std::collections::HashMap;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use ca_core::audit::verify_chain;
use ca_core::serial::Serial;
use ca_core::store::{
    AuditEntry, AuditEvent, AuditStore, CertFilter, CertStatus, CertificateRecord,
    CertificateStore, PendingCertificate, Revocation, StoreError,
};
use ca_store::Store;
use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::common::{each_backend, pending, t, wait_until, WriterLock, POOL};

fn event(target: &str) -> AuditEvent {
    AuditEvent {
        at: t(1),
        actor: "test".into(),
        action: "cert.test".into(),
        target: target.to_string(),
        details: "{}".into(),
    }
}

fn revocation(serial: &Serial, reason: u8, at: i64) -> Revocation {
    Revocation {
        serial: serial.clone(),
        reason,
        revoked_at: t(at),
        invalidity_date: None,
    }
}

/// The DER a test stores for `p`: distinct per certificate.
fn der_of(p: &PendingCertificate) -> Vec<u8> {
    format!("der-{}", p.serial).into_bytes()
}

fn get(s: &Store, serial: &Serial) -> CertificateRecord {
    s.certificate(serial).unwrap().expect("record exists")
}

/// What happens to one certificate in the concurrent test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    /// Recorded, signed.
    Issued,
    /// Recorded, revoked while pending, then signed (the signature arrives late).
    RevokedThenSigned,
    /// Recorded, signed, revoked.
    SignedThenRevoked,
}

#[test]
fn concurrent_issuance_is_grouped_and_recorded_once() {
    const THREADS: usize = 16;
    const CERTS: usize = 12;
    each_backend("concurrent_issuance_is_grouped_and_recorded_once", |db| {
        let s = &db.store;
        // A second handle with its own pool and committer stands for a second node.
        let other = Store::open(&db.url, POOL).unwrap();
        let barrier = Barrier::new(THREADS);
        let fates = [
            Fate::Issued,
            Fate::RevokedThenSigned,
            Fate::SignedThenRevoked,
        ];
        // Per thread and certificate: what was recorded, its fate, the audit entries returned.
        let done: Vec<(PendingCertificate, Fate, Vec<AuditEntry>, bool)> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..THREADS)
                    .map(|th| {
                        let barrier = &barrier;
                        let on_first = th % 4 != 3;
                        let store = if on_first { s } else { &other };
                        scope.spawn(move || {
                            barrier.wait();
                            (0..CERTS)
                                .map(|i| {
                                    let p = pending(&format!("ca-{th}"), i as i64, 1000);
                                    let fate = fates[i % fates.len()];
                                    let at = 10 + i as i64;
                                    let target = p.serial.to_hex();
                                    let mut entries = Vec::new();
                                    store.insert_pending(&p).unwrap();
                                    if fate == Fate::RevokedThenSigned {
                                        let r = revocation(&p.serial, 4, at);
                                        entries.push(store.revoke(&r, &event(&target)).unwrap());
                                    }
                                    entries.push(
                                        store
                                            .store_signed(
                                                &p.serial,
                                                &der_of(&p),
                                                t(at),
                                                &event(&target),
                                            )
                                            .unwrap(),
                                    );
                                    if fate == Fate::SignedThenRevoked {
                                        let r = revocation(&p.serial, 1, at);
                                        entries.push(store.revoke(&r, &event(&target)).unwrap());
                                    }
                                    (p, fate, entries, on_first)
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap())
                    .collect()
            });

        // Every certificate is recorded once, in the state its writes left it.
        let all = s.list_certificates(&CertFilter::default()).unwrap();
        assert_eq!(all.len(), THREADS * CERTS, "{}", db.name);
        let by_serial: HashMap<Serial, CertificateRecord> = all
            .into_iter()
            .map(|r| (r.pending.serial.clone(), r))
            .collect();
        for (p, fate, _, _) in &done {
            let rec = &by_serial[&p.serial];
            assert_eq!(rec.pending, *p, "{}", db.name);
            assert_eq!(rec.der.as_deref(), Some(&der_of(p)[..]), "{}", db.name);
            let (status, reason) = match fate {
                Fate::Issued => (CertStatus::Issued, None),
                Fate::RevokedThenSigned => (CertStatus::Revoked, Some(4)),
                Fate::SignedThenRevoked => (CertStatus::Revoked, Some(1)),
            };
            assert_eq!(rec.status, status, "{}: {fate:?}", db.name);
            assert_eq!(rec.revocation.as_ref().map(|r| r.reason), reason);
        }

        // The audit log holds exactly the returned entries, gap-free and chained.
        let log = s.audit_entries(1, 100_000).unwrap();
        let mut returned: Vec<AuditEntry> = done.iter().flat_map(|d| d.2.iter().cloned()).collect();
        returned.sort_by_key(|e| e.seq);
        assert_eq!(log.len(), returned.len(), "{}", db.name);
        assert_eq!(log, returned, "{}: log vs returned entries", db.name);
        let seqs: Vec<i64> = log.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (1..=log.len() as i64).collect::<Vec<_>>(),
            "{}",
            db.name
        );
        verify_chain(&log).unwrap_or_else(|b| panic!("{}: chain broken: {b:?}", db.name));

        // The first handle's writes were grouped: every one ran, some batches held several.
        let writes_on_first: usize = done.iter().filter(|d| d.3).map(|d| 1 + d.2.len()).sum();
        let stats = s.stats();
        eprintln!("{}: {stats:?}", db.name);
        assert_eq!(stats.jobs, writes_on_first as u64, "{}", db.name);
        assert_eq!(stats.queued, 0);
        assert!(
            stats.largest_batch > 1 && stats.batches < stats.jobs,
            "{}: no batch held more than one write: {stats:?}",
            db.name
        );
    });
}

/// One write of the batch in [`a_failing_write_fails_alone_in_its_batch`].
enum Write {
    Insert(PendingCertificate),
    Sign(Serial, Vec<u8>),
    Revoke(Revocation),
    Append(AuditEvent),
}

/// The outcome of a [`Write`]: the audit entry it returned, if any, or its error.
type Outcome = Result<Option<AuditEntry>, StoreError>;

fn perform(s: &Store, write: &Write) -> Outcome {
    let target = event("batch");
    match write {
        Write::Insert(p) => s.insert_pending(p).map(|()| None),
        Write::Sign(serial, der) => s.store_signed(serial, der, t(50), &target).map(Some),
        Write::Revoke(r) => s.revoke(r, &target).map(Some),
        Write::Append(e) => s.append_audit(e).map(Some),
    }
}

/// `ok`, or the error's variant.
fn kind<T>(outcome: &Result<T, StoreError>) -> &'static str {
    match outcome {
        Ok(_) => "ok",
        Err(StoreError::Conflict(_)) => "conflict",
        Err(StoreError::InvalidState(_)) => "invalid state",
        Err(StoreError::NotFound(_)) => "not found",
        Err(_) => "backend",
    }
}

#[test]
fn a_failing_write_fails_alone_in_its_batch() {
    each_backend("a_failing_write_fails_alone_in_its_batch", |db| {
        let s = &db.store;
        // What the batch acts on, committed beforehand.
        let existing = pending("issuing", 1, 1000);
        let revoked = pending("issuing", 2, 1000);
        let signed = pending("issuing", 3, 1000);
        let to_sign: Vec<_> = (0..3).map(|i| pending("issuing", 10 + i, 1000)).collect();
        let to_revoke: Vec<_> = (0..3).map(|i| pending("issuing", 20 + i, 1000)).collect();
        for p in [&existing, &revoked, &signed]
            .into_iter()
            .chain(&to_sign)
            .chain(&to_revoke)
        {
            s.insert_pending(p).unwrap();
        }
        let first_revocation = revocation(&revoked.serial, 1, 30);
        s.revoke(&first_revocation, &event("setup")).unwrap();
        s.store_signed(&signed.serial, b"first", t(31), &event("setup"))
            .unwrap();

        let fresh: Vec<_> = (0..3).map(|i| pending("issuing", 40 + i, 1000)).collect();
        let twin_a = pending("issuing", 50, 1000);
        let mut twin_b = pending("other", 51, 2000);
        twin_b.serial = twin_a.serial.clone();
        let mut impostor = pending("other", 52, 2000);
        impostor.serial = existing.serial.clone();
        let unknown = Serial::random().unwrap();

        // Good writes, and writes that fail, mixed (the threads queue in any order).
        let mut plan: Vec<(Write, &str)> = Vec::new();
        for i in 0..3 {
            plan.push((Write::Insert(fresh[i].clone()), "ok"));
            plan.push((
                Write::Sign(to_sign[i].serial.clone(), der_of(&to_sign[i])),
                "ok",
            ));
            plan.push((Write::Revoke(revocation(&to_revoke[i].serial, 5, 60)), "ok"));
        }
        plan.push((Write::Append(event("append-1")), "ok"));
        plan.push((Write::Append(event("append-2")), "ok"));
        plan.push((Write::Insert(impostor.clone()), "conflict"));
        plan.push((
            Write::Revoke(revocation(&revoked.serial, 3, 61)),
            "invalid state",
        ));
        plan.push((
            Write::Sign(signed.serial.clone(), b"second".to_vec()),
            "invalid state",
        ));
        plan.push((Write::Sign(unknown.clone(), b"x".to_vec()), "not found"));
        plan.push((Write::Revoke(revocation(&unknown, 1, 62)), "not found"));
        // Both in the same batch: the first one run wins, the other conflicts.
        plan.push((Write::Insert(twin_a.clone()), "twin"));
        plan.push((Write::Insert(twin_b.clone()), "twin"));
        let m = plan.len() as u64;

        // Hold the writers back from outside, so that the whole plan queues and then runs
        // as one batch: two blockers occupy every batch slot (one on SQLite, two on
        // PostgreSQL; on SQLite the second blocker queues too).
        let base = s.stats();
        let lock = WriterLock::take(db);
        let (blocked, outcomes): (Vec<Outcome>, Vec<Outcome>) = std::thread::scope(|scope| {
            let blockers: Vec<_> = (0..2)
                .map(|i| {
                    scope.spawn(move || perform(s, &Write::Append(event(&format!("blocker-{i}")))))
                })
                .collect();
            let accounted = || {
                let st = s.stats();
                st.jobs - base.jobs + st.queued
            };
            wait_until("both blockers are running or queued", || accounted() == 2);
            let handles: Vec<_> = plan
                .iter()
                .map(|(write, _)| scope.spawn(move || perform(s, write)))
                .collect();
            wait_until("the whole plan is queued", || accounted() == 2 + m);
            lock.release();
            (
                blockers.into_iter().map(|h| h.join().unwrap()).collect(),
                handles.into_iter().map(|h| h.join().unwrap()).collect(),
            )
        });
        let stats = s.stats();
        eprintln!("{}: {stats:?}", db.name);
        assert!(
            stats.largest_batch >= m,
            "{}: the plan was not one batch: {stats:?}",
            db.name
        );
        for b in &blocked {
            assert_eq!(kind(b), "ok", "{}: blocker {b:?}", db.name);
        }

        // Each write got its own outcome.
        let mut twins = Vec::new();
        for ((write, expected), outcome) in plan.iter().zip(&outcomes) {
            if *expected == "twin" {
                twins.push((write, kind(outcome)));
                continue;
            }
            assert_eq!(kind(outcome), *expected, "{}: {outcome:?}", db.name);
            if let (Write::Insert(_), Ok(entry)) = (write, outcome) {
                assert_eq!(*entry, None);
            }
        }
        let twin_kinds: Vec<&str> = twins.iter().map(|t| t.1).collect();
        assert!(
            twin_kinds == ["ok", "conflict"] || twin_kinds == ["conflict", "ok"],
            "{}: twins {twin_kinds:?}",
            db.name
        );
        let winner = if twin_kinds[0] == "ok" {
            &twin_a
        } else {
            &twin_b
        };

        // The good writes are committed, the failed ones changed nothing.
        for p in &fresh {
            let rec = get(s, &p.serial);
            assert_eq!((&rec.pending, rec.status), (p, CertStatus::Pending));
        }
        for p in &to_sign {
            let rec = get(s, &p.serial);
            assert_eq!(rec.status, CertStatus::Issued, "{}", db.name);
            assert_eq!(rec.der, Some(der_of(p)));
        }
        for p in &to_revoke {
            let rec = get(s, &p.serial);
            assert_eq!(rec.status, CertStatus::Revoked, "{}", db.name);
            assert_eq!(rec.revocation, Some(revocation(&p.serial, 5, 60)));
        }
        assert_eq!(get(s, &existing.serial).pending, existing, "{}", db.name);
        assert_eq!(get(s, &revoked.serial).revocation, Some(first_revocation));
        assert_eq!(get(s, &signed.serial).der.as_deref(), Some(&b"first"[..]));
        assert_eq!(s.certificate(&unknown).unwrap(), None);
        assert_eq!(get(s, &twin_a.serial).pending, *winner, "{}", db.name);
        assert_eq!(
            s.list_certificates(&CertFilter::default()).unwrap().len(),
            3 + 3 + 3 + 3 + 1,
            "{}",
            db.name
        );

        // The log: setup (2), blockers (2) and the good writes' entries (3 + 3 + 2),
        // chained without gaps, each as returned to its caller.
        let log = s.audit_entries(1, 1000).unwrap();
        assert_eq!(log.len(), 2 + 2 + 8, "{}", db.name);
        verify_chain(&log).unwrap_or_else(|b| panic!("{}: chain broken: {b:?}", db.name));
        for entry in blocked.iter().chain(&outcomes).flatten().flatten() {
            assert_eq!(&log[entry.seq as usize - 1], entry, "{}", db.name);
        }
    });
}

#[test]
fn contended_writes_from_two_nodes_neither_deadlock_nor_apply_twice() {
    const CERTS: usize = 8;
    const THREADS: usize = 12;
    each_backend(
        "contended_writes_from_two_nodes_neither_deadlock_nor_apply_twice",
        |db| {
            let s = &db.store;
            // A second handle with its own pool and committer stands for a second node.
            let other = Store::open(&db.url, POOL).unwrap();
            let certs: Vec<_> = (0..CERTS)
                .map(|i| pending("issuing", i as i64, 1000))
                .collect();
            for p in &certs {
                s.insert_pending(p).unwrap();
            }
            let barrier = Barrier::new(THREADS);
            // Every thread signs and revokes every certificate, in its own order (half of
            // them backwards), so that batches hold the same rows in different orders.
            let outcomes: Vec<(usize, usize, &'static str, &'static str)> =
                std::thread::scope(|scope| {
                    let handles: Vec<_> = (0..THREADS)
                        .map(|th| {
                            let (barrier, certs) = (&barrier, &certs);
                            let store = if th % 2 == 0 { s } else { &other };
                            scope.spawn(move || {
                                let mut order: Vec<usize> = (0..CERTS).collect();
                                order.rotate_left(th % CERTS);
                                if th % 3 == 0 {
                                    order.reverse();
                                }
                                barrier.wait();
                                order
                                    .into_iter()
                                    .map(|i| {
                                        let p = &certs[i];
                                        let der = format!("der-{th}").into_bytes();
                                        let target = event(&p.serial.to_hex());
                                        let signed = store
                                            .store_signed(&p.serial, &der, t(20), &target)
                                            .map(Some);
                                        let r = revocation(&p.serial, 1 + (th % 6) as u8, 30);
                                        let revoked = store.revoke(&r, &target).map(Some);
                                        (th, i, kind(&signed), kind(&revoked))
                                    })
                                    .collect::<Vec<_>>()
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .flat_map(|h| h.join().unwrap())
                        .collect()
                });
            for (i, cert) in certs.iter().enumerate() {
                let mine: Vec<_> = outcomes.iter().filter(|o| o.1 == i).collect();
                let signings: Vec<&str> = mine.iter().map(|o| o.2).collect();
                let revocations: Vec<&str> = mine.iter().map(|o| o.3).collect();
                for (what, kinds) in [("signings", signings), ("revocations", revocations)] {
                    let ok = kinds.iter().filter(|k| **k == "ok").count();
                    let refused = kinds.iter().filter(|k| **k == "invalid state").count();
                    assert_eq!(
                        (ok, refused),
                        (1, THREADS - 1),
                        "{}: {what} {mine:?}",
                        db.name
                    );
                }
                let signer = mine.iter().find(|o| o.2 == "ok").unwrap().0;
                let rec = get(s, &cert.serial);
                assert_eq!(rec.status, CertStatus::Revoked);
                assert_eq!(rec.der, Some(format!("der-{signer}").into_bytes()));
            }
            let log = s.audit_entries(1, 1000).unwrap();
            assert_eq!(log.len(), 2 * CERTS, "{}", db.name);
            verify_chain(&log).unwrap_or_else(|b| panic!("{}: chain broken: {b:?}", db.name));
        },
    );
}

/// Number of sessions named `app` that wait for a lock (asked in a transaction of its
/// own: `pg_stat_activity` stays frozen within one).
fn waiting(monitor: &mut PgConnection, app: &str) -> i64 {
    diesel::select(sql::<BigInt>(&format!(
        "(SELECT count(*) FROM pg_stat_activity \
          WHERE application_name = '{app}' AND wait_event_type = 'Lock')"
    )))
    .get_result(monitor)
    .unwrap()
}

/// Another session holding row locks, in layers that it can let go of one at a time; it
/// lets everything go when dropped (also on a failed assertion), so that the writers
/// waiting for it, and the test, do not hang.
struct RowLocker {
    conn: PgConnection,
}

impl RowLocker {
    /// Locks the certificates `rows`, until dropped.
    fn new(url: &str, rows: &[&Serial]) -> RowLocker {
        let mut locker = RowLocker {
            conn: PgConnection::establish(url).unwrap(),
        };
        locker.conn.batch_execute("BEGIN").unwrap();
        locker.lock(rows);
        locker
    }

    fn lock(&mut self, rows: &[&Serial]) {
        let list: Vec<String> = rows.iter().map(|s| format!("'{}'", s.to_hex())).collect();
        self.conn
            .batch_execute(&format!(
                "SELECT 1 FROM certificates WHERE serial IN ({}) FOR UPDATE",
                list.join(", ")
            ))
            .unwrap();
    }

    /// Locks `rows` too, as the layer `name`.
    fn lock_layer(&mut self, name: &str, rows: &[&Serial]) {
        self.conn
            .batch_execute(&format!("SAVEPOINT {name}"))
            .unwrap();
        self.lock(rows);
    }

    /// Lets go of layer `name` and the layers locked after it.
    fn release_layer(&mut self, name: &str) {
        self.conn
            .batch_execute(&format!("ROLLBACK TO SAVEPOINT {name}"))
            .unwrap();
    }
}

impl Drop for RowLocker {
    fn drop(&mut self) {
        let _ = self.conn.batch_execute("ROLLBACK");
    }
}

#[test]
fn batches_take_row_locks_in_serial_order() {
    each_backend("batches_take_row_locks_in_serial_order", |db| {
        if db.name != "postgres" {
            return; // SQLite has one writer and no row locks.
        }
        // Two nodes whose sessions sit out a deadlock for 10 s before PostgreSQL breaks it
        // (after which the batch's second attempt would succeed, unnoticed but for the time).
        let app = format!("hsmca_lock_order_{}", std::process::id());
        let url = format!(
            "{}%20-cdeadlock_timeout%3D10s&application_name={app}",
            db.url
        );
        let (one, two) = (
            Store::open(&url, POOL).unwrap(),
            Store::open(&url, POOL).unwrap(),
        );
        let mut certs: Vec<_> = (0..6).map(|i| pending("issuing", i, 1000)).collect();
        for p in &certs {
            one.insert_pending(p).unwrap();
        }
        certs.sort_by_key(|p| p.serial.to_hex());
        let [x, y, z1, z2, z3, z4] = [0, 1, 2, 3, 4, 5].map(|i| certs[i].serial.clone());
        let mut monitor = PgConnection::establish(&db.url).unwrap();
        let mut waiting = || waiting(&mut monitor, &app);
        let (one, two) = (&one, &two);
        let outcomes: Vec<&str> = std::thread::scope(|scope| {
            // Dropped (letting everything go) before the scope waits for its threads.
            let mut locker = RowLocker::new(&db.url, &[&y]);
            locker.lock_layer("two", &[&z3, &z4]);
            locker.lock_layer("one", &[&z1, &z2]);
            // Revokes of Z1, Z2 (node one) and Z3, Z4 (node two) hold every batch slot.
            let revoke_z = |node: &'static str, z: &Serial| {
                let store = if node == "one" { one } else { two };
                let z = z.clone();
                scope.spawn(move || {
                    kind(&store.revoke(&revocation(&z, 1, 20), &event(node)).map(Some))
                })
            };
            let z_one = [revoke_z("one", &z1), revoke_z("one", &z2)];
            let z_two = [revoke_z("two", &z3), revoke_z("two", &z4)];
            wait_until("the Z revokes wait", || waiting() == 4);
            // Queued behind them: node one signs Y, then X; node two revokes X, then Y.
            let queue = |node: &str, write: Write| {
                let store = if node == "one" { one } else { two };
                let before = store.stats().queued;
                let h = scope.spawn(move || kind(&perform(store, &write)));
                wait_until("the write is queued", || store.stats().queued == before + 1);
                h
            };
            let writes = [
                queue("one", Write::Sign(y.clone(), b"y".to_vec())),
                queue("one", Write::Sign(x.clone(), b"x".to_vec())),
                queue("two", Write::Revoke(revocation(&x, 1, 21))),
                queue("two", Write::Revoke(revocation(&y, 1, 21))),
            ];
            // Node one's batch starts. In queue order it would take Y first and wait for
            // it; in serial order it takes X, then waits for Y.
            locker.release_layer("one");
            let mut outcomes: Vec<&str> = z_one.into_iter().map(|h| h.join().unwrap()).collect();
            wait_until("node one's batch waits", || {
                one.stats().queued == 0 && waiting() == 3
            });
            // Node two's batch starts: in queue order it takes X, then waits for Y behind
            // node one, which will want X next: a deadlock. In serial order it waits for X.
            locker.release_layer("two");
            outcomes.extend(z_two.into_iter().map(|h| h.join().unwrap()));
            wait_until("node two's batch waits", || {
                two.stats().queued == 0 && waiting() == 2
            });
            let released = Instant::now();
            drop(locker);
            outcomes.extend(writes.into_iter().map(|h| h.join().unwrap()));
            let took = released.elapsed();
            assert!(
                took < Duration::from_secs(5),
                "the batches deadlocked (took {took:?})"
            );
            outcomes
        });
        assert_eq!(outcomes, ["ok"; 8], "{outcomes:?}");
        assert_eq!(
            (one.stats().largest_batch, two.stats().largest_batch),
            (2, 2)
        );
        for s in [&x, &y] {
            let rec = get(one, s);
            assert_eq!((rec.status, rec.der.is_some()), (CertStatus::Revoked, true));
        }
        verify_chain(&one.audit_entries(1, 100).unwrap()).unwrap();
    });
}

/// `insert_pending_all` and `store_signed_all` send their records together, so they run as
/// one batch: on PostgreSQL one multi-row INSERT and one UPDATE for all of them. A record
/// that fails there fails alone, with its own error; the others are committed.
#[test]
fn records_sent_together_share_a_batch_and_each_keeps_its_own_outcome() {
    each_backend(
        "records_sent_together_share_a_batch_and_each_keeps_its_own_outcome",
        |db| {
            let s = &db.store;
            let existing = pending("issuing", 1, 1000);
            let signed = pending("issuing", 2, 1000);
            let revoked = pending("issuing", 3, 1000);
            for p in [&existing, &signed, &revoked] {
                s.insert_pending(p).unwrap();
            }
            s.store_signed(&signed.serial, b"first", t(31), &event("setup"))
                .unwrap();
            s.revoke(&revocation(&revoked.serial, 1, 32), &event("setup"))
                .unwrap();

            // All good: every record committed, in one batch.
            let fresh: Vec<_> = (0..5).map(|i| pending("issuing", 10 + i, 1000)).collect();
            let before = s.stats();
            let results = s.insert_pending_all(&fresh);
            assert!(
                results.iter().all(Result::is_ok),
                "{}: {results:?}",
                db.name
            );
            assert_eq!(s.stats().batches, before.batches + 1, "{}", db.name);
            let records: Vec<_> = fresh
                .iter()
                .map(|p| ca_core::store::SignedRecord {
                    serial: p.serial.clone(),
                    der: der_of(p),
                    at: t(40),
                    audit: event(&p.serial.to_hex()),
                })
                .collect();
            let before = s.stats();
            let stored = s.store_signed_all(&records);
            assert_eq!(s.stats().batches, before.batches + 1, "{}", db.name);
            for (p, r) in fresh.iter().zip(&stored) {
                let entry = r.as_ref().unwrap();
                assert_eq!(entry.event.target, p.serial.to_hex());
                let rec = get(s, &p.serial);
                assert_eq!(rec.status, CertStatus::Issued, "{}", db.name);
                assert_eq!(rec.der, Some(der_of(p)));
                assert_eq!(rec.issued_at, Some(t(40)));
            }

            // Failures mixed in: each fails alone.
            let good: Vec<_> = (0..3).map(|i| pending("issuing", 20 + i, 1000)).collect();
            let mut impostor = pending("other", 30, 2000);
            impostor.serial = existing.serial.clone();
            let mut inserts = good.clone();
            inserts.insert(1, impostor);
            let results = s.insert_pending_all(&inserts);
            let kinds: Vec<&str> = results.iter().map(kind).collect();
            assert_eq!(kinds, ["ok", "conflict", "ok", "ok"], "{}", db.name);
            assert_eq!(get(s, &existing.serial).pending, existing);

            let unknown = Serial::random().unwrap();
            let sign = |serial: &Serial, der: Vec<u8>| ca_core::store::SignedRecord {
                serial: serial.clone(),
                der,
                at: t(50),
                audit: event(&serial.to_hex()),
            };
            let batch = vec![
                sign(&good[0].serial, der_of(&good[0])),
                sign(&signed.serial, b"second".to_vec()),
                sign(&good[1].serial, der_of(&good[1])),
                sign(&unknown, b"x".to_vec()),
                sign(&revoked.serial, der_of(&revoked)),
                sign(&good[2].serial, der_of(&good[2])),
            ];
            let results = s.store_signed_all(&batch);
            let kinds: Vec<&str> = results.iter().map(kind).collect();
            assert_eq!(
                kinds,
                ["ok", "invalid state", "ok", "not found", "ok", "ok"],
                "{}",
                db.name
            );
            for p in &good {
                let rec = get(s, &p.serial);
                assert_eq!(rec.status, CertStatus::Issued, "{}", db.name);
                assert_eq!(rec.der, Some(der_of(p)));
            }
            assert_eq!(get(s, &signed.serial).der.as_deref(), Some(&b"first"[..]));
            let rec = get(s, &revoked.serial);
            assert_eq!(rec.status, CertStatus::Revoked, "revoked stays revoked");
            assert_eq!(rec.der, Some(der_of(&revoked)));
            assert_eq!(s.certificate(&unknown).unwrap(), None);

            // The log: setup (2), the five, and the four good ones of the mixed batch,
            // chained, each as returned.
            let log = s.audit_entries(1, 1000).unwrap();
            assert_eq!(log.len(), 2 + 5 + 4, "{}", db.name);
            verify_chain(&log).unwrap_or_else(|b| panic!("{}: chain broken: {b:?}", db.name));
            for entry in stored.iter().chain(&results).flatten() {
                assert_eq!(&log[entry.seq as usize - 1], entry, "{}", db.name);
            }
        },
    );
}
