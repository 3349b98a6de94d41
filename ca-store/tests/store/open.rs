//! Opening: URL forms, migrations and error reporting.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use ca_core::store::{CaStore, StoreError};
use ca_store::Store;

use crate::common::{each_backend, each_fresh_database, key};

#[test]
fn migrations_are_idempotent() {
    each_backend("migrations_are_idempotent", |db| {
        db.store.insert_key(&key("survivor")).unwrap();
        // Reopening runs the migrations again: nothing to do, nothing lost.
        let again = Store::open(&db.url, 2).unwrap();
        let third = Store::open(&db.url, 1).unwrap();
        assert_eq!(again.backend_name(), db.name);
        assert_eq!(again.list_keys().unwrap(), vec![key("survivor")]);
        third.insert_key(&key("second")).unwrap();
        assert_eq!(db.store.list_keys().unwrap().len(), 2);
    });
}

#[test]
fn nodes_starting_together_migrate_once() {
    each_fresh_database("nodes_starting_together_migrate_once", |db| {
        let barrier = Barrier::new(4);
        let stores: Vec<Store> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        Store::open(&db.url, 2)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap()
                        .unwrap_or_else(|e| panic!("{}: concurrent open failed: {e}", db.name))
                })
                .collect()
        });
        stores[0].insert_key(&key("k")).unwrap();
        for s in &stores {
            assert_eq!(s.list_keys().unwrap(), vec![key("k")], "{}", db.name);
        }
    });
}

#[test]
fn sqlite_url_forms_all_open_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forms.db");
    let path = path.to_str().unwrap();
    let plain = Store::open(path, 1).unwrap();
    assert_eq!(plain.backend_name(), "sqlite");
    plain.insert_key(&key("k")).unwrap();
    for url in [format!("sqlite://{path}"), format!("file:{path}")] {
        let s = Store::open(&url, 1).unwrap();
        assert_eq!(s.backend_name(), "sqlite");
        assert_eq!(s.key("k").unwrap(), Some(key("k")), "{url}");
    }
    // The WAL journal is on (the -wal file exists while connections are open).
    assert!(dir.path().join("forms.db-wal").exists());
}

#[test]
fn open_reports_errors_truthfully() {
    let backend = |r: Result<Store, StoreError>| match r {
        Err(StoreError::Backend(msg)) => msg,
        other => panic!("expected a Backend error, got {other:?}"),
    };
    assert!(backend(Store::open("mysql://localhost/x", 1)).contains("mysql"));
    assert!(backend(Store::open(":memory:", 1)).contains("memory"));
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("no/such/dir/x.db");
    let msg = backend(Store::open(sqlite.to_str().unwrap(), 1));
    assert!(
        msg.contains("SQLite") && msg.contains("no/such/dir"),
        "{msg}"
    );
    let msg = backend(Store::open(
        &format!("sqlite://{}", dir.path().display()),
        1,
    ));
    assert!(msg.contains("SQLite"), "{msg}");
    let ok = dir.path().join("ok.db");
    assert!(backend(Store::open(ok.to_str().unwrap(), 0)).contains("pool size"));

    // Nothing listens on port 1: the driver's refusal comes back at once, not a pool timeout.
    let started = Instant::now();
    let msg = backend(Store::open("postgres://postgres@127.0.0.1:1/none", 2));
    assert!(msg.contains("PostgreSQL"), "{msg}");
    assert!(msg.to_lowercase().contains("connect"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!msg.contains("postgres@"), "the URL is not echoed: {msg}");
}
