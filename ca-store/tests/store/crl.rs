//! CRL entries (revoked certificates of one CA and shard), signed CRLs and the last
//! revocation.

use std::sync::Barrier;

use ca_core::audit::verify_chain;
use ca_core::serial::Serial;
use ca_core::store::{
    AuditEvent, AuditStore, CertificateStore, CrlEntry, CrlQuery, CrlRecord, CrlStore,
    PendingCertificate, Revocation, StoreError,
};
use ca_store::Store;
use chrono::{Duration, NaiveDateTime};

use crate::common::{audit_event, each_backend, pending, t, POOL};

/// A certificate of `ca_name` in `shard`, expiring at `t(expires)`, recorded pending.
fn unsigned(s: &Store, ca_name: &str, shard: i32, expires: i64) -> PendingCertificate {
    let mut p = pending(ca_name, 1, expires);
    p.crl_shard = shard;
    s.insert_pending(&p).unwrap();
    p
}

/// [`unsigned`], then signed: an issued certificate.
fn issued(s: &Store, ca_name: &str, shard: i32, expires: i64) -> PendingCertificate {
    let p = unsigned(s, ca_name, shard, expires);
    s.store_signed(&p.serial, b"der", t(2), &audit_event())
        .unwrap();
    p
}

/// An issued certificate with this serial, of `issuing` in shard 3.
fn issued_with_serial(s: &Store, serial: Serial) -> PendingCertificate {
    let mut p = pending("issuing", 1, 10_000);
    p.serial = serial;
    s.insert_pending(&p).unwrap();
    s.store_signed(&p.serial, b"der", t(2), &audit_event())
        .unwrap();
    p
}

/// Revokes `serial` at `t(at)` and returns the entry a CRL lists for it.
fn revoke(s: &Store, serial: &Serial, reason: u8, at: i64) -> CrlEntry {
    let revocation = Revocation {
        serial: serial.clone(),
        reason,
        revoked_at: t(at),
        invalidity_date: (reason % 2 == 1).then(|| t(at - 3600)),
    };
    s.revoke(&revocation, &audit_event()).unwrap();
    CrlEntry {
        serial: serial.clone(),
        revoked_at: revocation.revoked_at,
        reason,
        invalidity_date: revocation.invalidity_date,
    }
}

/// All entries of (`ca_name`, `shard`) since the start of time, in one page.
fn query(ca_name: &str, shard: i32) -> CrlQuery {
    CrlQuery {
        ca_name: ca_name.to_string(),
        shard,
        not_after_from: t(0),
        revoked_from: None,
        after: None,
        limit: 10_000,
    }
}

/// Every entry matching `q`, read in pages of `page` with `after`.
fn paged(s: &Store, q: &CrlQuery, page: u32) -> Vec<CrlEntry> {
    let mut all: Vec<CrlEntry> = Vec::new();
    loop {
        let q = CrlQuery {
            after: all.last().map(|e| e.serial.clone()).or(q.after.clone()),
            limit: page,
            ..q.clone()
        };
        let got = s.crl_entries(&q).unwrap();
        assert!(got.len() <= page as usize, "page of {page}: {}", got.len());
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
}

/// `entries` in the order `crl_entries` returns them: that of the stored serial text.
fn in_stored_order(mut entries: Vec<CrlEntry>) -> Vec<CrlEntry> {
    entries.sort_by_key(|e| e.serial.to_hex());
    entries
}

fn serials(entries: &[CrlEntry]) -> Vec<String> {
    entries.iter().map(|e| e.serial.to_hex()).collect()
}

/// A CRL of `ca_name`/`shard` with thisUpdate `t(this_update)`; a delta if `base` is set.
fn crl(ca_name: &str, shard: i32, number: i64, base: Option<i64>, this_update: i64) -> CrlRecord {
    CrlRecord {
        ca_name: ca_name.to_string(),
        shard,
        number,
        base_number: base,
        this_update: t(this_update),
        next_update: t(this_update + 86_400),
        entries: number * 10,
        sha256: vec![number as u8; 32],
    }
}

/// The audit event of signing `c`.
fn crl_event(c: &CrlRecord) -> AuditEvent {
    AuditEvent {
        at: c.this_update,
        actor: "crl-publisher".into(),
        action: "crl.sign".into(),
        target: format!("{}/{}/{}", c.ca_name, c.shard, c.number),
        details: format!("{{\"entries\":{}}}", c.entries),
    }
}

fn record(s: &Store, c: &CrlRecord) {
    s.record_crl(c, &crl_event(c)).unwrap();
}

fn audit_len(s: &Store) -> usize {
    s.audit_entries(1, 100_000).unwrap().len()
}

#[test]
fn crl_entries_are_the_revoked_certificates_of_one_ca_and_shard() {
    each_backend(
        "crl_entries_are_the_revoked_certificates_of_one_ca_and_shard",
        |db| {
            let s = &db.store;
            let empty = s.crl_entries(&query("issuing", 3)).unwrap();
            assert_eq!(empty, vec![], "{}", db.name);

            let a = issued(s, "issuing", 3, 1000);
            let b = unsigned(s, "issuing", 3, 1000);
            let still_issued = issued(s, "issuing", 3, 1000);
            let still_pending = unsigned(s, "issuing", 3, 1000);
            let other_shard = issued(s, "issuing", 1, 1000);
            let other_ca = issued(s, "other", 3, 1000);
            let ea = revoke(s, &a.serial, 1, 100);
            // Revoked while pending (no DER): listed all the same.
            let eb = revoke(s, &b.serial, 4, 110);
            let e_shard = revoke(s, &other_shard.serial, 3, 120);
            let e_ca = revoke(s, &other_ca.serial, 0, 130);

            let got = s.crl_entries(&query("issuing", 3)).unwrap();
            assert_eq!(got, in_stored_order(vec![ea, eb]), "{}", db.name);
            for absent in [&still_issued, &still_pending, &other_shard, &other_ca] {
                assert!(got.iter().all(|e| e.serial != absent.serial));
            }
            assert_eq!(s.crl_entries(&query("issuing", 1)).unwrap(), vec![e_shard]);
            assert_eq!(s.crl_entries(&query("other", 3)).unwrap(), vec![e_ca]);
            assert_eq!(s.crl_entries(&query("issuing", 2)).unwrap(), vec![]);
            assert_eq!(s.crl_entries(&query("nobody", 3)).unwrap(), vec![]);
            let none = CrlQuery {
                limit: 0,
                ..query("issuing", 3)
            };
            assert_eq!(s.crl_entries(&none).unwrap(), vec![]);
        },
    );
}

#[test]
fn crl_entries_page_through_every_entry_once_in_stored_serial_order() {
    each_backend(
        "crl_entries_page_through_every_entry_once_in_stored_serial_order",
        |db| {
            let s = &db.store;
            let mut expected = Vec::new();
            // Random serials (16 octets), and short ones of several lengths, whose text
            // order is not their numeric order.
            for i in 0..30_i64 {
                let p = issued(s, "issuing", 3, 1000);
                expected.push(revoke(s, &p.serial, (i % 7) as u8, 100 + i));
                // Not listed: issued in the same shard, revoked in another.
                issued(s, "issuing", 3, 1000);
                let elsewhere = issued(s, "issuing", 2, 1000);
                revoke(s, &elsewhere.serial, 1, 100 + i);
            }
            let short: [&[u8]; 8] = [
                &[0x01],
                &[0x0f],
                &[0x10],
                &[0xff],
                &[0x01, 0x00],
                &[0x7f, 0xff, 0xff],
                &[0x80, 0x00, 0x00, 0x00],
                &[0x00, 0x02],
            ];
            for (i, octets) in short.iter().enumerate() {
                let p = issued_with_serial(s, Serial::from_bytes(octets).unwrap());
                expected.push(revoke(s, &p.serial, 1, 500 + i as i64));
            }
            let expected = in_stored_order(expected);
            // 0x0100 comes before 0xff: the order is that of the stored text.
            let position = |hex: &str| serials(&expected).iter().position(|s| s == hex);
            assert!(position("0100") < position("ff"));

            let all = s.crl_entries(&query("issuing", 3)).unwrap();
            assert_eq!(all, expected, "{}", db.name);
            for page in [1, 2, 3, 7, 37, 38, 39, 1000] {
                let got = paged(s, &query("issuing", 3), page);
                assert_eq!(
                    serials(&got),
                    serials(&expected),
                    "{}: pages of {page}",
                    db.name
                );
                assert_eq!(got, expected, "{}: pages of {page}", db.name);
            }

            // `after` need not be a listed serial: the page starts after it in the same order.
            for after in ["00ff", "05", "7fffff", "f0", "ffff", "01"] {
                let q = CrlQuery {
                    after: Some(Serial::parse(after).unwrap()),
                    ..query("issuing", 3)
                };
                let rest: Vec<CrlEntry> = expected
                    .iter()
                    .filter(|e| {
                        e.serial.to_hex().as_str() > Serial::parse(after).unwrap().to_hex().as_str()
                    })
                    .cloned()
                    .collect();
                assert_eq!(
                    s.crl_entries(&q).unwrap(),
                    rest,
                    "{}: after {after}",
                    db.name
                );
                assert_eq!(paged(s, &q, 4), rest, "{}: after {after}", db.name);
            }
            let after_last = CrlQuery {
                after: Some(expected.last().unwrap().serial.clone()),
                ..query("issuing", 3)
            };
            assert_eq!(s.crl_entries(&after_last).unwrap(), vec![]);
        },
    );
}

#[test]
fn crl_entries_leave_out_certificates_expired_before_not_after_from() {
    each_backend(
        "crl_entries_leave_out_certificates_expired_before_not_after_from",
        |db| {
            let s = &db.store;
            let entries: Vec<CrlEntry> = [100, 200, 300]
                .iter()
                .map(|&expires| {
                    let p = issued(s, "issuing", 3, expires);
                    revoke(s, &p.serial, 1, 50)
                })
                .collect();
            let from = |at: NaiveDateTime| CrlQuery {
                not_after_from: at,
                ..query("issuing", 3)
            };
            assert_eq!(
                s.crl_entries(&from(t(0))).unwrap(),
                in_stored_order(entries.clone()),
                "{}",
                db.name
            );
            // The bound is inclusive: a certificate expiring at it is still listed.
            assert_eq!(
                s.crl_entries(&from(t(200))).unwrap(),
                in_stored_order(entries[1..].to_vec()),
                "{}",
                db.name
            );
            assert_eq!(s.crl_entries(&from(t(201))).unwrap(), entries[2..].to_vec());
            // Timestamps are whole seconds: the fraction of the bound is dropped.
            assert_eq!(
                s.crl_entries(&from(t(300) + Duration::milliseconds(900)))
                    .unwrap(),
                entries[2..].to_vec()
            );
            assert_eq!(s.crl_entries(&from(t(301))).unwrap(), vec![]);
            // With paging, too.
            assert_eq!(
                paged(s, &from(t(150)), 1),
                in_stored_order(entries[1..].to_vec())
            );
        },
    );
}

#[test]
fn crl_entries_since_revoked_from_make_a_delta() {
    each_backend("crl_entries_since_revoked_from_make_a_delta", |db| {
        let s = &db.store;
        let mut entries = Vec::new();
        for (at, expires) in [
            (1000, 9000),
            (2000, 9000),
            (2000, 9000),
            (3000, 9000),
            (2500, 100),
        ] {
            let p = issued(s, "issuing", 3, expires);
            entries.push(revoke(s, &p.serial, 5, at));
        }
        let other_shard = issued(s, "issuing", 4, 9000);
        revoke(s, &other_shard.serial, 5, 2500);
        let delta = |from: i64| CrlQuery {
            revoked_from: Some(t(from)),
            ..query("issuing", 3)
        };
        let since = |from: i64| {
            in_stored_order(
                entries
                    .iter()
                    .filter(|e| e.revoked_at >= t(from))
                    .cloned()
                    .collect(),
            )
        };
        assert_eq!(s.crl_entries(&delta(0)).unwrap(), since(0), "{}", db.name);
        // Inclusive: revocations at the bound are listed.
        assert_eq!(
            s.crl_entries(&delta(2000)).unwrap(),
            since(2000),
            "{}",
            db.name
        );
        assert_eq!(since(2000).len(), 4);
        assert_eq!(s.crl_entries(&delta(2001)).unwrap(), since(2001));
        assert_eq!(s.crl_entries(&delta(3001)).unwrap(), vec![]);
        assert_eq!(paged(s, &delta(2000), 1), since(2000), "{}", db.name);
        // Together with the expiry bound: the one expired at t(100) goes.
        let unexpired = CrlQuery {
            not_after_from: t(1000),
            ..delta(2000)
        };
        let expected: Vec<CrlEntry> = since(2000)
            .into_iter()
            .filter(|e| e.serial != entries[4].serial)
            .collect();
        assert_eq!(expected.len(), 3);
        assert_eq!(s.crl_entries(&unexpired).unwrap(), expected, "{}", db.name);
    });
}

#[test]
fn record_crl_audits_and_refuses_a_number_taken() {
    each_backend("record_crl_audits_and_refuses_a_number_taken", |db| {
        let s = &db.store;
        let mut first = crl("issuing", 3, 1, None, 100);
        first.this_update += Duration::milliseconds(600);
        let event = crl_event(&first);
        let entry = s.record_crl(&first, &event).unwrap();
        assert_eq!(entry.event.action, "crl.sign");
        assert_eq!(entry.event.target, "issuing/3/1");
        let log = s.audit_entries(1, 1000).unwrap();
        assert_eq!(log.last(), Some(&entry), "{}", db.name);
        verify_chain(&log).unwrap();
        let stored = CrlRecord {
            this_update: t(100),
            ..first.clone()
        };
        assert_eq!(
            s.latest_crl("issuing", 3, false).unwrap(),
            Some(stored.clone())
        );

        let delta = crl("issuing", 3, 2, Some(1), 150);
        record(s, &delta);

        // A (CA, shard, number) taken, by a full CRL or a delta (they share one sequence):
        // Conflict, and nothing written, the audit event neither.
        let before = audit_len(s);
        for rival in [
            crl("issuing", 3, 1, None, 200),
            crl("issuing", 3, 2, None, 200),
            crl("issuing", 3, 2, Some(1), 200),
        ] {
            let err = s.record_crl(&rival, &crl_event(&rival)).unwrap_err();
            assert!(
                matches!(err, StoreError::Conflict(_)),
                "{}: {err:?}",
                db.name
            );
        }
        assert_eq!(audit_len(s), before, "{}", db.name);
        assert_eq!(
            s.latest_crl("issuing", 3, false).unwrap(),
            Some(stored.clone())
        );
        assert_eq!(
            s.latest_crl("issuing", 3, true).unwrap(),
            Some(delta.clone())
        );
        assert_eq!(s.list_crls(None, 10).unwrap(), vec![delta.clone(), stored]);

        // The number is per CA and shard.
        record(s, &crl("issuing", 4, 1, None, 100));
        record(s, &crl("other", 3, 1, None, 100));
        assert_eq!(audit_len(s), before + 2);

        // A record that the schema refuses (a delta based on itself) writes nothing either.
        let bad = crl("issuing", 3, 3, Some(3), 300);
        assert!(s.record_crl(&bad, &crl_event(&bad)).is_err());
        assert_eq!(audit_len(s), before + 2);
        assert_eq!(s.latest_crl("issuing", 3, true).unwrap(), Some(delta));
        verify_chain(&s.audit_entries(1, 1000).unwrap()).unwrap();
    });
}

#[test]
fn record_crl_races_have_one_winner_and_share_batches_with_revocations() {
    const THREADS: usize = 8;
    each_backend(
        "record_crl_races_have_one_winner_and_share_batches_with_revocations",
        |db| {
            let s = &db.store;
            // A second handle with its own pool stands for a second node.
            let other = Store::open(&db.url, POOL).unwrap();
            let certs: Vec<PendingCertificate> = (0..THREADS * 4)
                .map(|_| issued(s, "issuing", 3, 1000))
                .collect();
            let before = audit_len(s);
            let barrier = Barrier::new(THREADS);
            let outcomes: Vec<Vec<Result<(), StoreError>>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..THREADS)
                    .map(|th| {
                        let (barrier, certs) = (&barrier, &certs);
                        let store = if th % 2 == 0 { s } else { &other };
                        scope.spawn(move || {
                            barrier.wait();
                            let mut results = Vec::new();
                            for round in 0..4 {
                                // Every thread wants CRL 100 + round; each also signs one
                                // of its own and revokes a certificate.
                                let contested = crl("issuing", 3, 100 + round, None, 10);
                                results.push(
                                    store
                                        .record_crl(&contested, &crl_event(&contested))
                                        .map(|_| ()),
                                );
                                let own = crl("issuing", th as i32, 1 + round, None, 10);
                                store.record_crl(&own, &crl_event(&own)).unwrap();
                                let cert = &certs[th * 4 + round as usize];
                                revoke(store, &cert.serial, 1, 20 + round);
                            }
                            results
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for round in 0..4 {
                let results: Vec<&Result<(), StoreError>> =
                    outcomes.iter().map(|r| &r[round]).collect();
                let wins = results.iter().filter(|r| r.is_ok()).count();
                assert_eq!(wins, 1, "{}: round {round}: {results:?}", db.name);
                for r in &results {
                    assert!(
                        matches!(r, Ok(()) | Err(StoreError::Conflict(_))),
                        "{}: {r:?}",
                        db.name
                    );
                }
            }
            // 4 contested + 4 own per thread + 4 revocations per thread, each audited once.
            let log = s.audit_entries(1, 100_000).unwrap();
            verify_chain(&log).unwrap();
            assert_eq!(log.len(), before + 4 + THREADS * 8, "{}", db.name);
            assert_eq!(
                s.latest_crl("issuing", 3, false).unwrap().map(|c| c.number),
                Some(103)
            );
            assert_eq!(
                s.crl_entries(&query("issuing", 3)).unwrap().len(),
                THREADS * 4
            );
            assert_eq!(s.list_crls(None, 1000).unwrap().len(), 4 + THREADS * 4);
        },
    );
}

#[test]
fn latest_crl_is_the_highest_number_of_its_kind() {
    each_backend("latest_crl_is_the_highest_number_of_its_kind", |db| {
        let s = &db.store;
        assert_eq!(s.latest_crl("issuing", 3, false).unwrap(), None);
        assert_eq!(s.latest_crl("issuing", 3, true).unwrap(), None);

        // Recorded out of number order: the highest number counts, not the last recorded.
        let full1 = crl("issuing", 3, 1, None, 100);
        let full4 = crl("issuing", 3, 4, None, 400);
        let delta2 = crl("issuing", 3, 2, Some(1), 200);
        let delta3 = crl("issuing", 3, 3, Some(1), 300);
        let delta5 = crl("issuing", 3, 5, Some(4), 500);
        for c in [&full1, &full4, &delta3, &delta2] {
            record(s, c);
        }
        assert_eq!(
            s.latest_crl("issuing", 3, false).unwrap(),
            Some(full4.clone())
        );
        assert_eq!(
            s.latest_crl("issuing", 3, true).unwrap(),
            Some(delta3),
            "{}",
            db.name
        );
        record(s, &delta5);
        assert_eq!(s.latest_crl("issuing", 3, true).unwrap(), Some(delta5));
        assert_eq!(
            s.latest_crl("issuing", 3, false).unwrap(),
            Some(full4),
            "{}",
            db.name
        );

        // Other shards and CAs are their own.
        record(s, &crl("issuing", 2, 9, None, 900));
        record(s, &crl("other", 3, 9, Some(8), 900));
        assert_eq!(
            s.latest_crl("issuing", 3, false).unwrap().unwrap().number,
            4
        );
        assert_eq!(s.latest_crl("issuing", 3, true).unwrap().unwrap().number, 5);
        assert_eq!(s.latest_crl("issuing", 2, true).unwrap(), None);
        assert_eq!(s.latest_crl("other", 3, false).unwrap(), None);
        assert_eq!(s.latest_crl("other", 3, true).unwrap().unwrap().number, 9);
    });
}

#[test]
fn list_crls_is_newest_first_by_this_update_then_number() {
    each_backend(
        "list_crls_is_newest_first_by_this_update_then_number",
        |db| {
            let s = &db.store;
            assert_eq!(s.list_crls(None, 10).unwrap(), vec![]);
            let a = crl("issuing", 0, 1, None, 100);
            let b = crl("issuing", 1, 1, None, 100);
            let c = crl("issuing", 0, 2, Some(1), 200);
            let d = crl("issuing", 1, 7, None, 200);
            let e = crl("other", 0, 3, None, 150);
            let f = crl("other", 0, 9, None, 50);
            for r in [&c, &a, &f, &d, &e, &b] {
                record(s, r);
            }
            let numbers = |list: Vec<CrlRecord>| -> Vec<(String, i32, i64)> {
                list.into_iter()
                    .map(|r| (r.ca_name, r.shard, r.number))
                    .collect()
            };
            // thisUpdate 200 (numbers 7, 2), 150, 100 (the two number 1s), 50.
            let all = s.list_crls(None, 100).unwrap();
            assert_eq!(all[0], d, "{}", db.name);
            assert_eq!(all[1], c);
            assert_eq!(all[2], e);
            assert_eq!(&all[5], &f);
            let mut ties = numbers(all[3..5].to_vec());
            ties.sort();
            assert_eq!(ties, numbers(vec![a.clone(), b.clone()]));
            assert_eq!(s.list_crls(None, 2).unwrap(), vec![d.clone(), c.clone()]);
            assert_eq!(s.list_crls(None, 0).unwrap(), vec![]);

            assert_eq!(
                s.list_crls(Some("other"), 10).unwrap(),
                vec![e.clone(), f.clone()],
                "{}",
                db.name
            );
            assert_eq!(s.list_crls(Some("other"), 1).unwrap(), vec![e]);
            let issuing = s.list_crls(Some("issuing"), 10).unwrap();
            assert_eq!(issuing.len(), 4);
            assert_eq!(issuing[..2], [d, c]);
            assert_eq!(s.list_crls(Some("nobody"), 10).unwrap(), vec![]);
        },
    );
}

#[test]
fn last_revocation_since_is_the_newest_of_the_ca_and_shard_from_then_on() {
    each_backend(
        "last_revocation_since_is_the_newest_of_the_ca_and_shard_from_then_on",
        |db| {
            let s = &db.store;
            assert_eq!(s.last_revocation_since("issuing", 3, t(0)).unwrap(), None);
            let a = issued(s, "issuing", 3, 1000);
            issued(s, "issuing", 3, 1000);
            unsigned(s, "issuing", 3, 1000);
            assert_eq!(
                s.last_revocation_since("issuing", 3, t(0)).unwrap(),
                None,
                "{}",
                db.name
            );

            revoke(s, &a.serial, 1, 100);
            assert_eq!(
                s.last_revocation_since("issuing", 3, t(0)).unwrap(),
                Some(t(100))
            );
            // `since` is inclusive, and nothing before it is reported.
            assert_eq!(
                s.last_revocation_since("issuing", 3, t(100)).unwrap(),
                Some(t(100))
            );
            assert_eq!(s.last_revocation_since("issuing", 3, t(101)).unwrap(), None);
            // Expired certificates count: their revocations happened all the same.
            let expired = issued(s, "issuing", 3, 10);
            revoke(s, &expired.serial, 1, 300);
            // An earlier revocation recorded later does not move it back.
            let b = issued(s, "issuing", 3, 1000);
            revoke(s, &b.serial, 1, 200);
            // Revoked while pending counts too.
            let c = unsigned(s, "issuing", 3, 1000);
            let mut late = Revocation {
                serial: c.serial.clone(),
                reason: 4,
                revoked_at: t(400) + Duration::milliseconds(750),
                invalidity_date: None,
            };
            s.revoke(&late, &audit_event()).unwrap();
            late.revoked_at = t(400);
            assert_eq!(
                s.last_revocation_since("issuing", 3, t(0)).unwrap(),
                Some(late.revoked_at),
                "{}",
                db.name
            );

            // Other shards and CAs are their own.
            let elsewhere = issued(s, "issuing", 2, 1000);
            revoke(s, &elsewhere.serial, 1, 900);
            let other_ca = issued(s, "other", 3, 1000);
            revoke(s, &other_ca.serial, 1, 1000);
            assert_eq!(
                s.last_revocation_since("issuing", 3, t(0)).unwrap(),
                Some(t(400))
            );
            assert_eq!(
                s.last_revocation_since("issuing", 2, t(0)).unwrap(),
                Some(t(900))
            );
            assert_eq!(
                s.last_revocation_since("other", 3, t(0)).unwrap(),
                Some(t(1000))
            );
            assert_eq!(s.last_revocation_since("other", 2, t(0)).unwrap(), None);
            // Newer revocations of other shards and CAs are passed over, not reported.
            assert_eq!(
                s.last_revocation_since("issuing", 3, t(350)).unwrap(),
                Some(t(400))
            );
            assert_eq!(s.last_revocation_since("issuing", 3, t(401)).unwrap(), None);
            assert_eq!(s.last_revocation_since("issuing", 2, t(901)).unwrap(), None);
        },
    );
}

#[test]
fn last_revocation_since_finds_the_shard_s_own_behind_a_mass_revocation_elsewhere() {
    each_backend("last_revocation_since_behind_a_mass_revocation", |db| {
        let s = &db.store;
        let mine = issued(s, "issuing", 3, 1000);
        revoke(s, &mine.serial, 1, 100);
        // More revocations after it, all of another CA, than the store looks through
        // before it turns to the shard's own revoked certificates.
        let others: Vec<PendingCertificate> = (0..1001)
            .map(|_| {
                let mut p = pending("other", 1, 1000);
                p.crl_shard = 3;
                p
            })
            .collect();
        for r in s.insert_pending_all(&others) {
            r.unwrap();
        }
        for (i, p) in others.iter().enumerate() {
            revoke(s, &p.serial, 4, 200 + i as i64);
        }
        assert_eq!(
            s.last_revocation_since("issuing", 3, t(50)).unwrap(),
            Some(t(100)),
            "{}",
            db.name
        );
        assert_eq!(s.last_revocation_since("issuing", 4, t(50)).unwrap(), None);
        assert_eq!(s.last_revocation_since("issuing", 3, t(101)).unwrap(), None);
        assert_eq!(
            s.last_revocation_since("other", 3, t(50)).unwrap(),
            Some(t(1200))
        );
    });
}
