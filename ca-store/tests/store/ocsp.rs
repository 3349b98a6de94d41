//! Pre-signed OCSP responses, their change feed, `ocsp_due` and delegated responders.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;

use ca_core::serial::Serial;
use ca_core::store::{
    CertStatus, CertificateRecord, CertificateStore, OcspResponseRecord, OcspSignerRecord,
    OcspStore, PendingCertificate, Revocation, StoreError,
};
use ca_store::Store;
use chrono::Duration;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::common::{audit_event, each_backend, pending, t, TestDb, POOL};

/// Records `p` and stores its signed DER: an issued certificate.
fn issue(s: &Store, p: &PendingCertificate) {
    s.insert_pending(p).unwrap();
    s.store_signed(&p.serial, b"der", p.created_at, &audit_event())
        .unwrap();
}

/// A new issued certificate of `ca_name`, expiring at `t(expires)`.
fn issued(s: &Store, ca_name: &str, expires: i64) -> PendingCertificate {
    let p = pending(ca_name, 1, expires);
    issue(s, &p);
    p
}

fn revoke(s: &Store, serial: &Serial, at: i64) {
    let r = Revocation {
        serial: serial.clone(),
        reason: 1,
        revoked_at: t(at),
        invalidity_date: None,
    };
    s.revoke(&r, &audit_event()).unwrap();
}

/// A response for `serial` of CA `issuing`, signed by `signer` at `t(this_update)`.
fn response(
    serial: &Serial,
    signed_for: CertStatus,
    signer: &str,
    this_update: i64,
) -> OcspResponseRecord {
    OcspResponseRecord {
        serial: serial.clone(),
        ca_name: "issuing".into(),
        signed_for,
        signer: signer.into(),
        this_update: t(this_update),
        next_update: t(this_update + 86_400),
        der: format!("ocsp-{serial}-{this_update}").into_bytes(),
        revision: 0,
        stale: false,
    }
}

fn stored(s: &Store, serial: &Serial) -> OcspResponseRecord {
    s.ocsp_response(serial).unwrap().expect("a stored response")
}

/// The whole change feed, read in pages of `page`.
fn feed(s: &Store, page: u32) -> Vec<OcspResponseRecord> {
    let mut all: Vec<OcspResponseRecord> = Vec::new();
    loop {
        let after = all.last().map_or(0, |r| r.revision);
        let got = s.ocsp_changes(after, page).unwrap();
        assert!(got.len() <= page as usize);
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
}

/// Runs `sql` on its own connection to `db`'s database, past the store.
fn raw_sql(db: &TestDb, sql: &str) {
    match db.name {
        "sqlite" => {
            let path = db.url.strip_prefix("sqlite://").expect("sqlite:// URL");
            let mut conn = SqliteConnection::establish(path).expect("open SQLite");
            conn.batch_execute(&format!("PRAGMA busy_timeout = 10000; {sql}"))
        }
        _ => {
            let mut conn = PgConnection::establish(&db.url).expect("connect to PostgreSQL");
            conn.batch_execute(sql)
        }
    }
    .unwrap_or_else(|e| panic!("{}: {sql}: {e}", db.name));
}

#[test]
fn put_then_read_back() {
    each_backend("put_then_read_back", |db| {
        let s = &db.store;
        assert_eq!(s.put_ocsp_responses(&[]).unwrap(), Vec::<bool>::new());
        let p = issued(s, "issuing", 1000);
        let mut r = response(&p.serial, CertStatus::Issued, "resp-1", 10);
        r.this_update += Duration::milliseconds(700);
        r.next_update += Duration::microseconds(3);
        // Ignored on write.
        r.revision = 99;
        r.stale = true;
        assert_eq!(
            s.put_ocsp_responses(std::slice::from_ref(&r)).unwrap(),
            [true]
        );

        let got = stored(s, &p.serial);
        let expected = OcspResponseRecord {
            this_update: t(10),
            next_update: t(10 + 86_400),
            revision: 1,
            stale: false,
            ..r.clone()
        };
        assert_eq!(got, expected, "{}", db.name);
        assert_eq!(s.ocsp_changes(0, 10).unwrap(), vec![expected.clone()]);
        assert_eq!(s.ocsp_changes(1, 10).unwrap(), vec![]);
        assert_eq!(s.ocsp_response(&Serial::random().unwrap()).unwrap(), None);

        // A serial that is no certificate gets no response.
        let stray = response(&Serial::random().unwrap(), CertStatus::Issued, "resp-1", 10);
        assert_eq!(
            s.put_ocsp_responses(std::slice::from_ref(&stray)).unwrap(),
            [false]
        );
        assert_eq!(s.ocsp_response(&stray.serial).unwrap(), None);

        // Signed for `pending` is a caller's bug: refused whole, nothing stored.
        let q = issued(s, "issuing", 1000);
        let good = response(&q.serial, CertStatus::Issued, "resp-1", 10);
        let bad = response(&p.serial, CertStatus::Pending, "resp-1", 20);
        let err = s.put_ocsp_responses(&[good, bad]).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidState(_)),
            "{}: {err:?}",
            db.name
        );
        assert_eq!(s.ocsp_response(&q.serial).unwrap(), None);
        assert_eq!(stored(s, &p.serial), expected);
    });
}

#[test]
fn put_is_refused_when_the_status_differs() {
    each_backend("put_is_refused_when_the_status_differs", |db| {
        let s = &db.store;
        let good = issued(s, "issuing", 1000);
        let gone = issued(s, "issuing", 1000);
        revoke(s, &gone.serial, 5);
        let unsigned = pending("issuing", 1, 1000);
        s.insert_pending(&unsigned).unwrap();

        let batch = [
            response(&good.serial, CertStatus::Revoked, "resp-1", 10),
            response(&gone.serial, CertStatus::Issued, "resp-1", 10),
            response(&unsigned.serial, CertStatus::Issued, "resp-1", 10),
            response(&unsigned.serial, CertStatus::Revoked, "resp-1", 10),
            response(&gone.serial, CertStatus::Revoked, "resp-1", 11),
            response(&good.serial, CertStatus::Issued, "resp-1", 12),
        ];
        assert_eq!(
            s.put_ocsp_responses(&batch).unwrap(),
            [false, false, false, false, true, true],
            "{}",
            db.name
        );
        assert_eq!(stored(s, &good.serial).signed_for, CertStatus::Issued);
        assert_eq!(stored(s, &good.serial).this_update, t(12));
        assert_eq!(stored(s, &gone.serial).signed_for, CertStatus::Revoked);
        assert_eq!(s.ocsp_response(&unsigned.serial).unwrap(), None);

        // Later, with a newer thisUpdate, still refused for the wrong status.
        let late = response(&gone.serial, CertStatus::Issued, "resp-1", 500);
        assert_eq!(s.put_ocsp_responses(&[late]).unwrap(), [false]);
        assert_eq!(stored(s, &gone.serial).this_update, t(11));
        assert_eq!(feed(s, 10).len(), 2);
    });
}

#[test]
fn an_older_response_does_not_replace_a_newer_one() {
    each_backend("an_older_response_does_not_replace_a_newer_one", |db| {
        let s = &db.store;
        let p = issued(s, "issuing", 10_000);
        let at = |u| response(&p.serial, CertStatus::Issued, "resp-1", u);
        assert_eq!(s.put_ocsp_responses(&[at(100)]).unwrap(), [true]);
        let first = stored(s, &p.serial);

        assert_eq!(s.put_ocsp_responses(&[at(50)]).unwrap(), [false]);
        assert_eq!(stored(s, &p.serial), first, "{}", db.name);

        // The same thisUpdate replaces (a re-signature), with a new revision.
        let mut resigned = at(100);
        resigned.signer = "resp-2".into();
        assert_eq!(s.put_ocsp_responses(&[resigned]).unwrap(), [true]);
        let second = stored(s, &p.serial);
        assert_eq!(second.signer, "resp-2");
        assert!(second.revision > first.revision);

        // Several for one serial in one call: as if put one after another.
        assert_eq!(
            s.put_ocsp_responses(&[at(300), at(250), at(400), at(400), at(350)])
                .unwrap(),
            [true, false, true, true, false],
            "{}",
            db.name
        );
        let third = stored(s, &p.serial);
        assert_eq!(third.this_update, t(400));
        assert_eq!(third.der, at(400).der);
        assert!(third.revision > second.revision);
        // One row, so the feed has one entry.
        assert_eq!(feed(s, 10), vec![third]);
    });
}

#[test]
fn revoke_marks_the_response_stale_in_the_change_feed() {
    each_backend("revoke_marks_the_response_stale_in_the_change_feed", |db| {
        let s = &db.store;
        let a = issued(s, "issuing", 1000);
        let b = issued(s, "issuing", 1000);
        let c = issued(s, "issuing", 1000);
        let responses = [
            response(&a.serial, CertStatus::Issued, "resp-1", 10),
            response(&b.serial, CertStatus::Issued, "resp-1", 10),
        ];
        assert_eq!(s.put_ocsp_responses(&responses).unwrap(), [true, true]);
        let before = stored(s, &a.serial);
        let a_first = before.revision;
        let watermark = feed(s, 10).last().unwrap().revision;
        assert_eq!(watermark, 2);

        revoke(s, &a.serial, 20);
        let after = stored(s, &a.serial);
        assert!(after.stale, "{}", db.name);
        assert_eq!(
            after,
            OcspResponseRecord {
                revision: 3,
                stale: true,
                ..before
            }
        );
        assert_eq!(s.ocsp_changes(watermark, 10).unwrap(), vec![after.clone()]);
        assert!(!stored(s, &b.serial).stale);

        // A revocation that fails changes nothing; one of a certificate without a
        // response takes no revision.
        let err = s
            .revoke(
                &Revocation {
                    serial: a.serial.clone(),
                    reason: 4,
                    revoked_at: t(30),
                    invalidity_date: None,
                },
                &audit_event(),
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidState(_)), "{err:?}");
        revoke(s, &c.serial, 30);
        assert_eq!(stored(s, &a.serial), after);
        assert_eq!(s.ocsp_changes(3, 10).unwrap(), vec![]);

        // The stale `good` cannot come back; a `revoked` one replaces it, fresh.
        let good_again = response(&a.serial, CertStatus::Issued, "resp-1", 40);
        assert_eq!(s.put_ocsp_responses(&[good_again]).unwrap(), [false]);
        let revoked = response(&a.serial, CertStatus::Revoked, "resp-1", 40);
        assert_eq!(s.put_ocsp_responses(&[revoked]).unwrap(), [true]);
        let fresh = stored(s, &a.serial);
        assert_eq!((fresh.stale, fresh.revision), (false, 4));
        assert_eq!(fresh.signed_for, CertStatus::Revoked);
        // Revoked while pending, with a response: stale too.
        let d = pending("issuing", 1, 1000);
        s.insert_pending(&d).unwrap();
        revoke(s, &d.serial, 50);
        let d_resp = response(&d.serial, CertStatus::Revoked, "resp-1", 50);
        assert_eq!(s.put_ocsp_responses(&[d_resp]).unwrap(), [true]);
        assert_eq!(stored(s, &d.serial).revision, 5);
        // Feed: b (1 or 2: one call's revisions go in serial order), a (4), d (5).
        let b_revision = stored(s, &b.serial).revision;
        assert_eq!(b_revision, 3 - a_first);
        let revisions: Vec<(Serial, i64)> = feed(s, 2)
            .into_iter()
            .map(|r| (r.serial, r.revision))
            .collect();
        assert_eq!(
            revisions,
            [
                (b.serial.clone(), b_revision),
                (a.serial.clone(), 4),
                (d.serial, 5)
            ]
        );
    });
}

#[test]
fn the_change_feed_pages_in_revision_order() {
    each_backend("the_change_feed_pages_in_revision_order", |db| {
        let s = &db.store;
        let certs: Vec<PendingCertificate> = (0..25).map(|_| issued(s, "issuing", 1000)).collect();
        // Put in calls of various sizes, each in its own order.
        for (i, chunk) in certs.chunks(6).enumerate() {
            let mut batch: Vec<OcspResponseRecord> = chunk
                .iter()
                .map(|p| response(&p.serial, CertStatus::Issued, "resp-1", 10 + i as i64))
                .collect();
            batch.reverse();
            let stored = s.put_ocsp_responses(&batch).unwrap();
            assert!(stored.iter().all(|b| *b));
        }
        // Some rows change again (move to the end of the feed).
        let again: Vec<OcspResponseRecord> = certs[..5]
            .iter()
            .map(|p| response(&p.serial, CertStatus::Issued, "resp-1", 100))
            .collect();
        assert!(s.put_ocsp_responses(&again).unwrap().iter().all(|b| *b));
        revoke(s, &certs[7].serial, 200);

        for page in [1, 4, 7, 25, 1000] {
            let all = feed(s, page);
            let serials: BTreeSet<Serial> = all.iter().map(|r| r.serial.clone()).collect();
            assert_eq!(serials.len(), 25, "{}: page {page}", db.name);
            assert_eq!(all.len(), 25, "{}: page {page}", db.name);
            assert!(
                all.windows(2).all(|w| w[0].revision < w[1].revision),
                "{}: page {page}: {:?}",
                db.name,
                all.iter().map(|r| r.revision).collect::<Vec<_>>()
            );
            // 25 first puts, 5 re-puts, 1 revocation: 31 revisions, the highest in use.
            assert_eq!(all.last().unwrap().revision, 31);
            assert_eq!(all.last().unwrap().serial, certs[7].serial);
            assert!(all.last().unwrap().stale);
            // Re-put rows carry their new revisions (26..=30), in serial order.
            let mut moved: Vec<&OcspResponseRecord> =
                all.iter().filter(|r| r.this_update == t(100)).collect();
            moved.sort_by_key(|r| r.serial.to_hex());
            assert_eq!(
                moved.iter().map(|r| r.revision).collect::<Vec<_>>(),
                [26, 27, 28, 29, 30]
            );
        }
        assert_eq!(s.ocsp_changes(0, 0).unwrap(), vec![]);
        assert_eq!(s.ocsp_changes(31, 10).unwrap(), vec![]);
        assert_eq!(s.ocsp_changes(-5, 1).unwrap().len(), 1);
    });
}

/// What a follower saw: each serial's latest (revision, stale), and every revision seen,
/// in the order seen.
#[derive(Default)]
struct Follower {
    latest: BTreeMap<Serial, (i64, bool)>,
    seen: Vec<i64>,
}

impl Follower {
    /// One poll after the highest revision seen so far.
    fn poll(&mut self, s: &Store, limit: u32) -> usize {
        let after = self.seen.last().copied().unwrap_or(0);
        let got = s.ocsp_changes(after, limit).unwrap();
        for r in &got {
            self.seen.push(r.revision);
            self.latest.insert(r.serial.clone(), (r.revision, r.stale));
        }
        got.len()
    }

    /// Polls until nothing new comes.
    fn drain(&mut self, s: &Store) {
        while self.poll(s, 50) > 0 {}
    }
}

#[test]
fn concurrent_writers_take_each_revision_once_and_a_follower_misses_none() {
    const WRITERS: usize = 6;
    const CERTS: usize = 30;
    each_backend(
        "concurrent_writers_take_each_revision_once_and_a_follower_misses_none",
        |db| {
            let s = &db.store;
            // A second handle with its own pool stands for a second node.
            let other = Store::open(&db.url, POOL).unwrap();
            let certs: Vec<Vec<PendingCertificate>> = (0..WRITERS)
                .map(|_| (0..CERTS).map(|_| issued(s, "issuing", 1000)).collect())
                .collect();
            let barrier = Barrier::new(WRITERS + 1);
            let done = AtomicBool::new(false);
            let follower = std::thread::scope(|scope| {
                let writers: Vec<_> = certs
                    .iter()
                    .enumerate()
                    .map(|(w, mine)| {
                        let (barrier, store) = (&barrier, if w % 2 == 0 { s } else { &other });
                        scope.spawn(move || {
                            barrier.wait();
                            // Calls of 1 to 4 responses.
                            let mut rest = &mine[..];
                            let mut size = 1 + w % 4;
                            while !rest.is_empty() {
                                let (now, later) = rest.split_at(size.min(rest.len()));
                                let batch: Vec<OcspResponseRecord> = now
                                    .iter()
                                    .map(|p| response(&p.serial, CertStatus::Issued, "r", 10))
                                    .collect();
                                let stored = store.put_ocsp_responses(&batch).unwrap();
                                assert!(stored.iter().all(|b| *b), "{stored:?}");
                                rest = later;
                                size = size % 4 + 1;
                            }
                        })
                    })
                    .collect();
                let follow = scope.spawn(|| {
                    let mut f = Follower::default();
                    barrier.wait();
                    while !done.load(Ordering::Acquire) {
                        f.poll(&other, 7);
                    }
                    f
                });
                for w in writers {
                    w.join().unwrap();
                }
                done.store(true, Ordering::Release);
                follow.join().unwrap()
            });
            let mut follower = follower;
            let polls_while_writing = follower.seen.len();
            follower.drain(s);

            // Every response took exactly one revision: 1..=N, none lost or repeated.
            let total = (WRITERS * CERTS) as i64;
            let all = feed(s, 1000);
            let revisions: Vec<i64> = all.iter().map(|r| r.revision).collect();
            assert_eq!(revisions, (1..=total).collect::<Vec<_>>(), "{}", db.name);
            // The follower saw them all, each once, in increasing order: no row became
            // visible below its watermark after it had moved past.
            assert_eq!(follower.seen, revisions, "{}", db.name);
            eprintln!(
                "{}: the follower saw {polls_while_writing} of {total} while writers ran",
                db.name
            );
        },
    );
}

#[test]
fn revocations_racing_puts_leave_no_good_response_for_a_revoked_certificate() {
    const CERTS: usize = 48;
    const ROUNDS: i64 = 6;
    const REVOKERS: usize = 4;
    each_backend(
        "revocations_racing_puts_leave_no_good_response_for_a_revoked_certificate",
        |db| {
            let s = &db.store;
            let other = Store::open(&db.url, POOL).unwrap();
            let certs: Vec<PendingCertificate> =
                (0..CERTS).map(|_| issued(s, "issuing", 1000)).collect();
            // Every certificate starts with a response, so each revocation has one to mark.
            let initial: Vec<OcspResponseRecord> = certs
                .iter()
                .map(|p| response(&p.serial, CertStatus::Issued, "r", 5))
                .collect();
            assert!(s.put_ocsp_responses(&initial).unwrap().iter().all(|b| *b));
            // Every other certificate is revoked while responses are being put.
            let doomed: Vec<&PendingCertificate> = certs.iter().step_by(2).collect();
            let barrier = Barrier::new(4 + REVOKERS + 1);
            let done = AtomicBool::new(false);
            let mut follower = std::thread::scope(|scope| {
                // Four signers, each putting `good` responses for all certificates, in
                // calls of 6 (sorted or reversed), with increasing thisUpdate.
                let signers: Vec<_> = (0..4)
                    .map(|w| {
                        let (barrier, certs) = (&barrier, &certs);
                        let store = if w % 2 == 0 { s } else { &other };
                        scope.spawn(move || {
                            barrier.wait();
                            for round in 0..ROUNDS {
                                for chunk in certs.chunks(6) {
                                    let mut batch: Vec<OcspResponseRecord> = chunk
                                        .iter()
                                        .map(|p| {
                                            let at = 10 + round * 10 + w;
                                            response(&p.serial, CertStatus::Issued, "r", at)
                                        })
                                        .collect();
                                    if w >= 2 {
                                        batch.reverse();
                                    }
                                    store.put_ocsp_responses(&batch).unwrap();
                                }
                            }
                        })
                    })
                    .collect();
                // Four revokers, two on each handle, so that revocations share batches
                // (and their transactions hold several certificate rows).
                let revokers: Vec<_> = (0..REVOKERS)
                    .map(|k| {
                        let (barrier, doomed) = (&barrier, &doomed);
                        let store = if k % 2 == 0 { s } else { &other };
                        scope.spawn(move || {
                            barrier.wait();
                            for p in doomed.iter().skip(k).step_by(REVOKERS) {
                                revoke(store, &p.serial, 50);
                            }
                        })
                    })
                    .collect();
                let follow = scope.spawn(|| {
                    let mut f = Follower::default();
                    barrier.wait();
                    while !done.load(Ordering::Acquire) {
                        f.poll(s, 5);
                    }
                    f
                });
                for h in signers {
                    h.join().unwrap();
                }
                for h in revokers {
                    h.join().unwrap();
                }
                done.store(true, Ordering::Release);
                follow.join().unwrap()
            });
            follower.drain(&other);

            let all = feed(s, 1000);
            assert!(all.windows(2).all(|w| w[0].revision < w[1].revision));
            assert_eq!(all.len(), CERTS, "{}", db.name);
            for r in &all {
                let cert = s.certificate(&r.serial).unwrap().unwrap();
                if cert.status == CertStatus::Revoked {
                    assert!(
                        r.stale || r.signed_for == CertStatus::Revoked,
                        "{}: a good response of a revoked certificate is served: {r:?}",
                        db.name
                    );
                } else {
                    assert_eq!(cert.status, CertStatus::Issued);
                    assert!(!r.stale);
                }
                // The follower's view is the store's.
                assert_eq!(
                    follower.latest.get(&r.serial),
                    Some(&(r.revision, r.stale)),
                    "{}: the follower missed a change",
                    db.name
                );
            }
            assert!(follower.seen.windows(2).all(|w| w[0] < w[1]));
            for p in &doomed {
                assert_eq!(
                    s.certificate(&p.serial).unwrap().unwrap().status,
                    CertStatus::Revoked
                );
            }
        },
    );
}

#[test]
fn ocsp_due_lists_what_needs_a_new_response() {
    each_backend("ocsp_due_lists_what_needs_a_new_response", |db| {
        let s = &db.store;
        let now = 1000;
        let signed_before = 900;
        let put = |r: OcspResponseRecord| assert_eq!(s.put_ocsp_responses(&[r]).unwrap(), [true]);

        // Due.
        let missing = issued(s, "issuing", 5000);
        let old = issued(s, "issuing", 5000);
        put(response(&old.serial, CertStatus::Issued, "resp-1", 899));
        let other_signer = issued(s, "issuing", 5000);
        put(response(
            &other_signer.serial,
            CertStatus::Issued,
            "ca-key",
            950,
        ));
        let stale = issued(s, "issuing", 5000);
        put(response(&stale.serial, CertStatus::Issued, "resp-1", 950));
        revoke(s, &stale.serial, 960);
        let mismatch = issued(s, "issuing", 5000);
        put(response(
            &mismatch.serial,
            CertStatus::Issued,
            "resp-1",
            950,
        ));
        revoke(s, &mismatch.serial, 960);
        // Only a broken writer could leave a fresh `good` for a revoked certificate;
        // ocsp_due still finds it.
        raw_sql(
            db,
            &format!(
                "UPDATE ocsp_responses SET stale = 0 WHERE serial = '{}'",
                mismatch.serial
            ),
        );
        assert!(!stored(s, &mismatch.serial).stale);
        let revoked_unanswered = issued(s, "issuing", 5000);
        revoke(s, &revoked_unanswered.serial, 970);
        let revoked_pending = pending("issuing", 1, 5000);
        s.insert_pending(&revoked_pending).unwrap();
        revoke(s, &revoked_pending.serial, 970);
        let expires_now = issued(s, "issuing", now);

        // Not due.
        let fresh = issued(s, "issuing", 5000);
        put(response(&fresh.serial, CertStatus::Issued, "resp-1", 950));
        let at_the_bound = issued(s, "issuing", 5000);
        put(response(
            &at_the_bound.serial,
            CertStatus::Issued,
            "resp-1",
            900,
        ));
        let revoked_fresh = issued(s, "issuing", 5000);
        revoke(s, &revoked_fresh.serial, 900);
        put(response(
            &revoked_fresh.serial,
            CertStatus::Revoked,
            "resp-1",
            950,
        ));
        let expired = issued(s, "issuing", now - 1);
        let unsigned = pending("issuing", 1, 5000);
        s.insert_pending(&unsigned).unwrap();
        let other_ca = issued(s, "other", 5000);
        let not_due = [
            &fresh,
            &at_the_bound,
            &revoked_fresh,
            &expired,
            &unsigned,
            &other_ca,
        ];

        let mut due_serials: Vec<&Serial> = vec![
            &missing.serial,
            &old.serial,
            &other_signer.serial,
            &stale.serial,
            &mismatch.serial,
            &revoked_unanswered.serial,
            &revoked_pending.serial,
            &expires_now.serial,
        ];
        due_serials.sort_by_key(|s| s.to_hex());
        let expected: Vec<CertificateRecord> = due_serials
            .iter()
            .map(|serial| s.certificate(serial).unwrap().unwrap())
            .collect();
        let due = s
            .ocsp_due("issuing", "resp-1", t(signed_before), t(now), None, 100)
            .unwrap();
        assert_eq!(
            due.iter()
                .map(|r| r.pending.serial.to_hex())
                .collect::<Vec<_>>(),
            due_serials.iter().map(|s| s.to_hex()).collect::<Vec<_>>(),
            "{}",
            db.name
        );
        // Whole records, revocations included, as `certificate` returns them.
        assert_eq!(due, expected, "{}", db.name);
        for p in not_due {
            assert!(due.iter().all(|r| r.pending.serial != p.serial));
        }
        assert!(due
            .iter()
            .any(|r| r.revocation.is_some() && r.der.is_none()));

        // The limit keeps the first in serial order, and `after` pages on from there.
        let first_three = s
            .ocsp_due("issuing", "resp-1", t(signed_before), t(now), None, 3)
            .unwrap();
        assert_eq!(first_three, expected[..3].to_vec());
        let next_three = s
            .ocsp_due(
                "issuing",
                "resp-1",
                t(signed_before),
                t(now),
                Some(&first_three[2].pending.serial),
                3,
            )
            .unwrap();
        assert_eq!(next_three, expected[3..6].to_vec());
        assert_eq!(
            s.ocsp_due("issuing", "resp-1", t(signed_before), t(now), None, 0)
                .unwrap(),
            vec![]
        );
        // Another signer makes every answered certificate due; an unknown CA has none.
        let for_ca_key = s
            .ocsp_due("issuing", "ca-key", t(signed_before), t(now), None, 100)
            .unwrap();
        assert_eq!(for_ca_key.len(), 8 - 1 + 3, "{}", db.name);
        assert_eq!(
            s.ocsp_due("nobody", "resp-1", t(signed_before), t(now), None, 100)
                .unwrap(),
            vec![]
        );

        // Once answered, no longer due.
        put(response(&missing.serial, CertStatus::Issued, "resp-1", 990));
        put(response(&stale.serial, CertStatus::Revoked, "resp-1", 990));
        let due = s
            .ocsp_due("issuing", "resp-1", t(signed_before), t(now), None, 100)
            .unwrap();
        assert_eq!(due.len(), 6, "{}", db.name);
        assert!(due
            .iter()
            .all(|r| r.pending.serial != missing.serial && r.pending.serial != stale.serial));
    });
}

fn signer(ca_name: &str, generation: i64) -> OcspSignerRecord {
    OcspSignerRecord {
        ca_name: ca_name.into(),
        generation,
        key_label: format!("{ca_name}-ocsp-{generation}"),
        serial: Serial::random().unwrap(),
        certificate_der: vec![0x30, 0x82, generation as u8],
        not_before: t(generation * 100),
        not_after: t(generation * 100 + 86_400),
        created_at: t(generation * 100),
    }
}

#[test]
fn ocsp_signers_conflict_per_generation_and_the_highest_wins() {
    each_backend(
        "ocsp_signers_conflict_per_generation_and_the_highest_wins",
        |db| {
            let s = &db.store;
            assert_eq!(s.ocsp_signer("issuing").unwrap(), None);
            let mut first = signer("issuing", 1);
            first.created_at += Duration::milliseconds(250);
            s.insert_ocsp_signer(&first).unwrap();
            let first = OcspSignerRecord {
                created_at: t(100),
                ..first
            };
            assert_eq!(s.ocsp_signer("issuing").unwrap(), Some(first.clone()));

            // Generations need not arrive in order; the highest is the current one.
            let third = signer("issuing", 3);
            let second = signer("issuing", 2);
            s.insert_ocsp_signer(&third).unwrap();
            s.insert_ocsp_signer(&second).unwrap();
            s.insert_ocsp_signer(&signer("root", 7)).unwrap();
            assert_eq!(s.ocsp_signer("issuing").unwrap(), Some(third.clone()));
            assert_eq!(s.ocsp_signer("root").unwrap().unwrap().generation, 7);
            assert_eq!(s.ocsp_signer("other").unwrap(), None);

            // Another node renewed first: this one's generation 3 is refused.
            let rival = signer("issuing", 3);
            let err = s.insert_ocsp_signer(&rival).unwrap_err();
            assert!(
                matches!(err, StoreError::Conflict(_)),
                "{}: {err:?}",
                db.name
            );
            let err = s.insert_ocsp_signer(&signer("issuing", 1)).unwrap_err();
            assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
            assert_eq!(
                s.ocsp_signer("issuing").unwrap(),
                Some(third),
                "{}",
                db.name
            );
        },
    );
}
