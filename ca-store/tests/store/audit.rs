//! The audit log.

use std::collections::BTreeSet;
use std::sync::Barrier;

use ca_core::audit::{verify_chain, GENESIS_HASH};
use ca_core::store::{AuditEvent, AuditStore};

use ca_store::Store;

use crate::common::{each_backend, t, POOL};

fn event(actor: &str, target: &str, at: i64) -> AuditEvent {
    AuditEvent {
        at: t(at),
        actor: actor.to_string(),
        action: "cert.sign".to_string(),
        target: target.to_string(),
        details: format!("{{\"target\":\"{target}\"}}"),
    }
}

#[test]
fn audit_appends_chain_and_page() {
    each_backend("audit_appends_chain_and_page", |db| {
        let s = &db.store;
        assert_eq!(s.audit_entries(1, 100).unwrap(), vec![]);
        let appended: Vec<_> = (1..=5)
            .map(|i| {
                s.append_audit(&event("crypto-user", &format!("serial-{i}"), i))
                    .unwrap()
            })
            .collect();
        assert_eq!(appended[0].seq, 1);
        assert_eq!(appended[0].prev_hash, GENESIS_HASH.to_vec());
        assert_eq!(appended[1].prev_hash, appended[0].hash);

        let stored = s.audit_entries(1, 100).unwrap();
        assert_eq!(
            stored, appended,
            "{}: stored entries are the returned ones",
            db.name
        );
        verify_chain(&stored).unwrap();

        assert_eq!(s.audit_entries(2, 2).unwrap(), appended[1..3].to_vec());
        assert_eq!(s.audit_entries(5, 10).unwrap(), appended[4..].to_vec());
        assert_eq!(s.audit_entries(6, 10).unwrap(), vec![]);
        assert_eq!(s.audit_entries(1, 0).unwrap(), vec![]);
    });
}

#[test]
fn audit_chain_of_concurrent_appends_is_gap_free() {
    const THREADS: usize = 8;
    const APPENDS: usize = 25;
    each_backend("audit_chain_of_concurrent_appends_is_gap_free", |db| {
        let s = &db.store;
        // A second handle with its own pool stands for a second node on the same database.
        let other = Store::open(&db.url, POOL).unwrap();
        let barrier = Barrier::new(THREADS);
        let returned: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|th| {
                    let barrier = &barrier;
                    let s = if th % 2 == 0 { s } else { &other };
                    scope.spawn(move || {
                        barrier.wait();
                        (0..APPENDS)
                            .map(|i| {
                                let e = event(&format!("thread-{th}"), &format!("{th}/{i}"), 7);
                                s.append_audit(&e).unwrap()
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

        let total = THREADS * APPENDS;
        let log = s.audit_entries(1, 10_000).unwrap();
        assert_eq!(log.len(), total, "{}", db.name);
        let seqs: Vec<i64> = log.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (1..=total as i64).collect::<Vec<_>>(),
            "{}: gap",
            db.name
        );
        verify_chain(&log).unwrap_or_else(|b| panic!("{}: chain broken: {b:?}", db.name));

        // Every append is in the log exactly as it was returned to its caller.
        let mut by_seq = returned.clone();
        by_seq.sort_by_key(|e| e.seq);
        assert_eq!(by_seq, log, "{}", db.name);
        let targets: BTreeSet<&str> = log.iter().map(|e| e.event.target.as_str()).collect();
        assert_eq!(targets.len(), total);
    });
}
