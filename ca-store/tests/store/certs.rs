//! Certificate records, revocation and CRL numbers.

use std::collections::{BTreeSet, HashMap};
use std::sync::Barrier;

use ca_core::serial::Serial;
use ca_core::store::{
    CertFilter, CertStatus, CertificateRecord, CertificateStore, Revocation, StoreError,
};
use chrono::Duration;

use ca_store::Store;

use crate::common::{audit_event, each_backend, pending, t, POOL};

fn revocation(serial: &Serial, reason: u8, at: i64) -> Revocation {
    Revocation {
        serial: serial.clone(),
        reason,
        revoked_at: t(at),
        invalidity_date: Some(t(at - 3600)),
    }
}

fn get(s: &Store, serial: &Serial) -> CertificateRecord {
    s.certificate(serial).unwrap().expect("record exists")
}

#[test]
fn pending_then_issued() {
    each_backend("pending_then_issued", |db| {
        let s = &db.store;
        let mut p = pending("issuing", 10, 1000);
        p.sans = vec!["dns:bücher.example".to_string(), "dns:a\"quote".to_string()];
        s.insert_pending(&p).unwrap();
        let rec = get(s, &p.serial);
        assert_eq!(rec.pending, p);
        assert_eq!(rec.status, CertStatus::Pending);
        assert_eq!((rec.der, rec.issued_at, rec.revocation), (None, None, None));

        s.store_signed(&p.serial, b"signed-der", t(11), &audit_event())
            .unwrap();
        let rec = get(s, &p.serial);
        assert_eq!(rec.pending, p);
        assert_eq!(rec.status, CertStatus::Issued);
        assert_eq!(rec.der.as_deref(), Some(&b"signed-der"[..]));
        assert_eq!(rec.issued_at, Some(t(11)));
        assert_eq!(rec.revocation, None);

        // The DER is stored once.
        let err = s
            .store_signed(&p.serial, b"other", t(12), &audit_event())
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidState(_)),
            "{}: {err:?}",
            db.name
        );
        let rec = get(s, &p.serial);
        assert_eq!(rec.der.as_deref(), Some(&b"signed-der"[..]));
        assert_eq!(rec.issued_at, Some(t(11)));

        // No SANs is an empty list, not a missing one.
        let mut bare = pending("issuing", 10, 1000);
        bare.sans = vec![];
        s.insert_pending(&bare).unwrap();
        assert_eq!(get(s, &bare.serial).pending.sans, Vec::<String>::new());
    });
}

#[test]
fn timestamps_are_kept_to_the_second() {
    each_backend("timestamps_are_kept_to_the_second", |db| {
        let s = &db.store;
        let mut p = pending("issuing", 0, 100);
        p.created_at = t(5) + Duration::milliseconds(999);
        p.not_after = t(100) + Duration::nanoseconds(1);
        s.insert_pending(&p).unwrap();
        s.store_signed(
            &p.serial,
            b"der",
            t(6) + Duration::microseconds(7),
            &audit_event(),
        )
        .unwrap();
        let rec = get(s, &p.serial);
        assert_eq!(rec.pending.created_at, t(5));
        assert_eq!(rec.pending.not_after, t(100));
        assert_eq!(rec.issued_at, Some(t(6)));
    });
}

#[test]
fn revoke_from_pending_and_from_issued() {
    each_backend("revoke_from_pending_and_from_issued", |db| {
        let s = &db.store;
        let a = pending("issuing", 1, 1000);
        let b = pending("issuing", 2, 1000);
        s.insert_pending(&a).unwrap();
        s.insert_pending(&b).unwrap();
        s.store_signed(&b.serial, b"der-b", t(3), &audit_event())
            .unwrap();

        // From pending: a crash before signing, revoked by reconcile or an operator.
        let ra = revocation(&a.serial, 4, 50);
        s.revoke(&ra, &audit_event()).unwrap();
        let rec = get(s, &a.serial);
        assert_eq!(rec.status, CertStatus::Revoked);
        assert_eq!(rec.revocation, Some(ra.clone()));
        assert_eq!(rec.der, None);
        // The HSM's signature arriving later is kept, and the certificate stays revoked.
        s.store_signed(&a.serial, b"der-a", t(60), &audit_event())
            .unwrap();
        let rec = get(s, &a.serial);
        assert_eq!(rec.status, CertStatus::Revoked);
        assert_eq!(rec.der.as_deref(), Some(&b"der-a"[..]));
        assert_eq!(rec.issued_at, Some(t(60)));
        assert_eq!(rec.revocation, Some(ra));

        // From issued.
        let rb = Revocation {
            invalidity_date: None,
            ..revocation(&b.serial, 1, 70)
        };
        s.revoke(&rb, &audit_event()).unwrap();
        let rec = get(s, &b.serial);
        assert_eq!(rec.status, CertStatus::Revoked);
        assert_eq!(rec.revocation, Some(rb));
        assert_eq!(rec.der.as_deref(), Some(&b"der-b"[..]));

        // Both are revoked now; an issued one and an unknown serial are not.
        let c = pending("issuing", 3, 1000);
        s.insert_pending(&c).unwrap();
        s.store_signed(&c.serial, b"der-c", t(80), &audit_event())
            .unwrap();
        let unknown = pending("issuing", 4, 1000).serial;
        let asked = [
            c.serial.clone(),
            a.serial.clone(),
            unknown,
            b.serial.clone(),
        ];
        assert_eq!(
            s.revoked_among(&asked).unwrap(),
            vec![a.serial.clone(), b.serial.clone()],
            "{}",
            db.name
        );
        assert_eq!(s.revoked_among(&[]).unwrap(), vec![]);
    });
}

#[test]
fn revoke_twice_is_invalid_state() {
    each_backend("revoke_twice_is_invalid_state", |db| {
        let s = &db.store;
        let p = pending("issuing", 1, 1000);
        s.insert_pending(&p).unwrap();
        let first = revocation(&p.serial, 1, 10);
        s.revoke(&first, &audit_event()).unwrap();
        let err = s
            .revoke(&revocation(&p.serial, 5, 20), &audit_event())
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidState(_)),
            "{}: {err:?}",
            db.name
        );
        assert_eq!(get(s, &p.serial).revocation, Some(first), "{}", db.name);
    });
}

#[test]
fn concurrent_revokes_of_one_certificate_have_one_winner() {
    each_backend(
        "concurrent_revokes_of_one_certificate_have_one_winner",
        |db| {
            let s = &db.store;
            let p = pending("issuing", 1, 1000);
            s.insert_pending(&p).unwrap();
            let barrier = Barrier::new(8);
            let results: Vec<Result<(), StoreError>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..8u8)
                    .map(|i| {
                        let (barrier, serial) = (&barrier, &p.serial);
                        scope.spawn(move || {
                            barrier.wait();
                            // Any valid reason: 0..=10 except 7 (removeFromCRL is for deltas only).
                            let reason = [0, 1, 2, 3, 4, 5, 6, 8][usize::from(i)];
                            s.revoke(
                                &revocation(serial, reason, 10 + i64::from(i)),
                                &audit_event(),
                            )
                            .map(|_| ())
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let wins = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(wins, 1, "{}: {results:?}", db.name);
            for r in &results {
                assert!(
                    matches!(r, Ok(()) | Err(StoreError::InvalidState(_))),
                    "{}: {r:?}",
                    db.name
                );
            }
            assert_eq!(get(s, &p.serial).status, CertStatus::Revoked);
        },
    );
}

#[test]
fn unknown_serial_is_not_found() {
    each_backend("unknown_serial_is_not_found", |db| {
        let s = &db.store;
        let known = pending("issuing", 1, 1000);
        s.insert_pending(&known).unwrap();
        let unknown = Serial::random().unwrap();
        assert_eq!(s.certificate(&unknown).unwrap(), None);
        let err = s
            .revoke(&revocation(&unknown, 1, 10), &audit_event())
            .unwrap_err();
        assert!(
            matches!(err, StoreError::NotFound(_)),
            "{}: {err:?}",
            db.name
        );
        let err = s
            .store_signed(&unknown, b"der", t(10), &audit_event())
            .unwrap_err();
        assert!(
            matches!(err, StoreError::NotFound(_)),
            "{}: {err:?}",
            db.name
        );
        // Nothing was written on the way.
        assert_eq!(s.certificate(&unknown).unwrap(), None);
        let all = s.list_certificates(&CertFilter::default()).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].status, CertStatus::Pending);
    });
}

#[test]
fn duplicate_serial_is_conflict_and_keeps_the_first() {
    each_backend("duplicate_serial_is_conflict_and_keeps_the_first", |db| {
        let s = &db.store;
        let first = pending("issuing", 1, 1000);
        s.insert_pending(&first).unwrap();
        let mut second = pending("other-ca", 2, 2000);
        second.serial = first.serial.clone();
        second.subject = "CN=evil.example".to_string();
        let err = s.insert_pending(&second).unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(_)),
            "{}: {err:?}",
            db.name
        );
        let rec = get(s, &first.serial);
        assert_eq!(rec.pending, first, "{}", db.name);
        assert_eq!(rec.status, CertStatus::Pending);
        assert_eq!(
            s.list_certificates(&CertFilter::default()).unwrap().len(),
            1
        );
    });
}

#[test]
fn list_filters_by_ca_status_expiry_and_limit() {
    each_backend("list_filters_by_ca_status_expiry_and_limit", |db| {
        let s = &db.store;
        // (CA, created, expires, final status)
        let plan = [
            ("issuing", 5, 100, CertStatus::Issued),
            ("issuing", 1, 200, CertStatus::Pending),
            ("issuing", 3, 300, CertStatus::Revoked),
            ("other", 2, 100, CertStatus::Issued),
            ("other", 4, 400, CertStatus::Pending),
            ("issuing", 3, 500, CertStatus::Issued),
        ];
        let mut by_serial = HashMap::new();
        for (ca, created, expires, status) in plan {
            let p = pending(ca, created, expires);
            s.insert_pending(&p).unwrap();
            if status != CertStatus::Pending {
                s.store_signed(&p.serial, b"der", t(created + 1), &audit_event())
                    .unwrap();
            }
            if status == CertStatus::Revoked {
                s.revoke(&revocation(&p.serial, 0, created + 2), &audit_event())
                    .unwrap();
            }
            by_serial.insert(p.serial.clone(), (ca, created, expires, status));
        }
        let list = |f: CertFilter| -> Vec<(&str, i64, i64, CertStatus)> {
            s.list_certificates(&f)
                .unwrap()
                .into_iter()
                .map(|r| {
                    let row = by_serial[&r.pending.serial];
                    assert_eq!(r.status, row.3, "{}: stored status", db.name);
                    assert_eq!(r.revocation.is_some(), row.3 == CertStatus::Revoked);
                    row
                })
                .collect()
        };

        // Everything, by created_at then serial.
        let all = s.list_certificates(&CertFilter::default()).unwrap();
        assert_eq!(all.len(), 6);
        let keys: Vec<_> = all
            .iter()
            .map(|r| (r.pending.created_at, r.pending.serial.to_hex()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{}: order", db.name);

        let issuing = list(CertFilter {
            ca_name: Some("issuing".into()),
            ..Default::default()
        });
        assert_eq!(issuing.len(), 4);
        assert!(issuing.iter().all(|r| r.0 == "issuing"));

        let pending_only = list(CertFilter {
            status: Some(CertStatus::Pending),
            ..Default::default()
        });
        assert_eq!(
            pending_only.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
            [("issuing", 1), ("other", 4)]
        );

        let issued_issuing = list(CertFilter {
            ca_name: Some("issuing".into()),
            status: Some(CertStatus::Issued),
            ..Default::default()
        });
        assert_eq!(
            issued_issuing.iter().map(|r| r.2).collect::<Vec<_>>(),
            [500, 100]
        );

        let revoked = list(CertFilter {
            status: Some(CertStatus::Revoked),
            ..Default::default()
        });
        assert_eq!(revoked.iter().map(|r| r.2).collect::<Vec<_>>(), [300]);

        // Expiry window: 100 <= not_after < 400 (the lower bound inclusive, the upper not).
        let window = list(CertFilter {
            not_after_from: Some(t(100)),
            not_after_before: Some(t(400)),
            ..Default::default()
        });
        let mut expiries: Vec<i64> = window.iter().map(|r| r.2).collect();
        expiries.sort();
        assert_eq!(expiries, [100, 100, 200, 300], "{}", db.name);
        let expired = list(CertFilter {
            not_after_before: Some(t(100)),
            ..Default::default()
        });
        assert_eq!(expired, vec![]);
        let unexpired = list(CertFilter {
            not_after_from: Some(t(101)),
            ..Default::default()
        });
        assert_eq!(unexpired.len(), 4);

        // Limit keeps the first rows of the order.
        let first_two = list(CertFilter {
            limit: Some(2),
            ..Default::default()
        });
        assert_eq!(first_two.iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2]);
        let limited = list(CertFilter {
            ca_name: Some("issuing".into()),
            limit: Some(3),
            ..Default::default()
        });
        assert_eq!(limited.iter().map(|r| r.1).collect::<Vec<_>>(), [1, 3, 3]);
        assert_eq!(
            list(CertFilter {
                limit: Some(0),
                ..Default::default()
            }),
            vec![]
        );
    });
}

#[test]
fn crl_numbers_strictly_increase_under_concurrency() {
    const THREADS: usize = 8;
    const CALLS: usize = 25;
    let pairs = [("issuing", 0), ("issuing", 1), ("root", 0)];
    each_backend("crl_numbers_strictly_increase_under_concurrency", |db| {
        let s = &db.store;
        // A second handle with its own pool stands for a second node on the same database.
        let other = Store::open(&db.url, POOL).unwrap();
        let barrier = Barrier::new(THREADS);
        // Per thread: the numbers it got for each pair, in the order it got them.
        let seen: Vec<Vec<Vec<i64>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|th| {
                    let barrier = &barrier;
                    let s = if th % 2 == 0 { s } else { &other };
                    scope.spawn(move || {
                        barrier.wait();
                        let mut got = vec![Vec::new(); 2];
                        for _ in 0..CALLS {
                            for (i, (ca, shard)) in pairs[..2].iter().enumerate() {
                                got[i].push(s.next_crl_number(ca, *shard).unwrap());
                            }
                        }
                        got
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (i, pair) in pairs[..2].iter().enumerate() {
            let mut all = BTreeSet::new();
            for thread in &seen {
                let nums = &thread[i];
                assert!(
                    nums.windows(2).all(|w| w[0] < w[1]),
                    "{}: {pair:?} not increasing within a thread: {nums:?}",
                    db.name
                );
                for n in nums {
                    assert!(
                        all.insert(*n),
                        "{}: {pair:?} number {n} handed out twice",
                        db.name
                    );
                }
            }
            let expected: BTreeSet<i64> = (1..=(THREADS * CALLS) as i64).collect();
            assert_eq!(all, expected, "{}: {pair:?} lost an update", db.name);
            assert_eq!(
                s.next_crl_number(pair.0, pair.1).unwrap(),
                (THREADS * CALLS) as i64 + 1
            );
        }
        // An untouched (CA, shard) starts on its own.
        assert_eq!(s.next_crl_number(pairs[2].0, pairs[2].1).unwrap(), 1);
        assert_eq!(s.next_crl_number(pairs[2].0, pairs[2].1).unwrap(), 2);
    });
}
