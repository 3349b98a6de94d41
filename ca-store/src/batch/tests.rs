//! Batches built by hand: what the public API cannot provoke (a job that fails after it
//! wrote, a commit that fails). SQLite always; PostgreSQL when `HSMCA_TEST_DATABASE_URL`
//! is set (in a fresh schema, dropped afterwards).

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{SystemTime, UNIX_EPOCH};

use ca_core::audit::verify_chain;
use ca_core::serial::Serial;
use ca_core::store::{AuditEvent, AuditStore, CertificateStore, PendingCertificate, StoreError};
use chrono::DateTime;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};

use super::{run, Job};
use crate::conn::DbConnection;
use crate::error::OpError;
use crate::models::CertRow;
use crate::schema::certificates;
use crate::Store;

/// Runs `body` on a store over a fresh SQLite file, then over a fresh PostgreSQL schema.
fn each_backend(body: impl Fn(&Store)) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(dir.path().join("t.db").to_str().unwrap(), 2).unwrap();
    body(&sqlite);
    let Some(url) = std::env::var("HSMCA_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        return;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("u_{}_{nanos}", std::process::id());
    let mut admin = PgConnection::establish(&url).unwrap();
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let pg_url = format!("{url}{sep}options=-csearch_path%3D{schema}");
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let pg = Store::open(&pg_url, 2).unwrap();
        body(&pg);
    }));
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

fn cert() -> PendingCertificate {
    let t = DateTime::from_timestamp(1_800_000_000, 0)
        .unwrap()
        .naive_utc();
    PendingCertificate {
        serial: Serial::random().unwrap(),
        ca_name: "issuing".into(),
        profile: "tls-server".into(),
        subject: "CN=test".into(),
        sans: vec![],
        not_before: t,
        not_after: t,
        tbs_der: vec![0x30, 0x00],
        tbs_sha256: vec![0; 32],
        crl_shard: 0,
        created_at: t,
    }
}

fn event(target: &str) -> AuditEvent {
    AuditEvent {
        at: DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc(),
        actor: "test".into(),
        action: "cert.test".into(),
        target: target.into(),
        details: "{}".into(),
    }
}

fn insert(p: &PendingCertificate) -> Job {
    let row = CertRow::pending(p).unwrap();
    Job::write(
        format!("insert {}", p.serial),
        p.serial.to_hex(),
        move |c| {
            diesel::insert_into(certificates::table)
                .values(&row)
                .execute(c)?;
            Ok(())
        },
    )
}

/// Inserts `p`, with an audit event naming `target`.
fn insert_audited(p: &PendingCertificate, target: &str) -> Job {
    Job {
        event: Some(event(target)),
        ..insert(p)
    }
}

fn append(target: &str) -> Job {
    Job::audit(format!("append {target}"), &event(target))
}

/// Inserts `p`, then fails: the insert must be undone, and its event not appended.
fn write_then_fail(p: &PendingCertificate) -> Job {
    let row = CertRow::pending(p).unwrap();
    let write = move |c: &mut DbConnection| -> Result<(), OpError> {
        diesel::insert_into(certificates::table)
            .values(&row)
            .execute(c)?;
        Err(OpError::Store(StoreError::InvalidState(
            "changed its mind".into(),
        )))
    };
    let (op, key) = (format!("doomed {}", p.serial), p.serial.to_hex());
    Job::write_with_audit(op, key, write, &event("doomed"))
}

#[test]
fn a_job_that_fails_after_writing_is_undone_alone() {
    each_backend(|s| {
        let (a, b, c, d, e) = (cert(), cert(), cert(), cert(), cert());
        let results = run(
            s,
            vec![
                insert(&a),
                write_then_fail(&b),
                insert_audited(&e, "three"),
                insert(&c),
                append("one"),
                write_then_fail(&d),
                append("two"),
            ],
        );
        let summary: Vec<String> = results
            .iter()
            .map(|r| match r {
                Ok(None) => "ok".to_string(),
                Ok(Some(e)) => format!("entry {}", e.seq),
                Err(StoreError::InvalidState(_)) => "invalid state".to_string(),
                Err(e) => format!("{e}"),
            })
            .collect();
        // Events without rows come first, then the writes' events in serial order.
        let expected = [
            "ok",
            "invalid state",
            "entry 3",
            "ok",
            "entry 1",
            "invalid state",
            "entry 2",
        ];
        assert_eq!(summary, expected, "{}", s.backend_name());
        for (p, kept) in [(&a, true), (&b, false), (&c, true), (&d, false), (&e, true)] {
            assert_eq!(
                s.certificate(&p.serial).unwrap().is_some(),
                kept,
                "{}",
                s.backend_name()
            );
        }
        let log = s.audit_entries(1, 100).unwrap();
        let targets: Vec<&str> = log.iter().map(|e| e.event.target.as_str()).collect();
        assert_eq!(targets, ["one", "two", "three"], "{}", s.backend_name());
        verify_chain(&log).unwrap();
        for returned in results.iter().flatten().flatten() {
            assert_eq!(&log[returned.seq as usize - 1], returned);
        }
    });
}

#[test]
fn a_failed_commit_fails_every_job_and_keeps_nothing() {
    each_backend(|s| {
        // A row in this table that names no certificate is refused at COMMIT only.
        s.conn("test")
            .unwrap()
            .batch_execute(
                "CREATE TABLE commit_check (serial TEXT REFERENCES certificates (serial) \
                 DEFERRABLE INITIALLY DEFERRED)",
            )
            .unwrap();
        let dangling = Job::write("dangling".into(), "0".into(), |c| {
            diesel::sql_query("INSERT INTO commit_check (serial) VALUES ('no-such-serial')")
                .execute(c)?;
            Ok(())
        });
        let (a, b) = (cert(), cert());
        let results = run(s, vec![insert(&a), append("lost"), dangling, insert(&b)]);
        assert_eq!(results.len(), 4);
        for r in &results {
            match r {
                Err(StoreError::Backend(msg)) => {
                    assert!(msg.contains("nothing of it was committed"), "{msg}")
                }
                other => panic!(
                    "{}: expected a Backend error, got {other:?}",
                    s.backend_name()
                ),
            }
        }
        assert_eq!(s.certificate(&a.serial).unwrap(), None);
        assert_eq!(s.certificate(&b.serial).unwrap(), None);
        assert_eq!(s.audit_entries(1, 100).unwrap(), vec![]);

        // The store carries on.
        let results = run(s, vec![insert(&a), append("kept")]);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert!(s.certificate(&a.serial).unwrap().is_some());
        assert_eq!(s.audit_entries(1, 100).unwrap().len(), 1);
    });
}
