//! The lock order between revocation batches and `put_ocsp_responses` on PostgreSQL, in a
//! schedule that the public API cannot set up on purpose. SQLite has one writer at a time
//! and cannot deadlock; without `HSMCA_TEST_DATABASE_URL` this is skipped (a failure
//! under `HSMCA_REQUIRE_POSTGRES=1`).

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ca_core::serial::Serial;
use ca_core::store::{
    AuditEvent, CertStatus, CertificateStore, OcspResponseRecord, OcspStore, PendingCertificate,
    Revocation,
};
use chrono::DateTime;
use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::batch::run;
use crate::certs::revoke_job;
use crate::Store;

/// Runs `body` on a store over a fresh PostgreSQL schema whose connections carry the
/// schema's name as `application_name`, so that `pg_stat_activity` tells them apart.
fn on_postgres(body: impl FnOnce(&Store, &str, &str)) {
    let Some(url) = std::env::var("HSMCA_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        assert_ne!(
            std::env::var("HSMCA_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "HSMCA_REQUIRE_POSTGRES=1 but HSMCA_TEST_DATABASE_URL is not set"
        );
        return;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("o_{}_{nanos}", std::process::id());
    let mut admin = PgConnection::establish(&url).unwrap();
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let pg_url = format!("{url}{sep}options=-csearch_path%3D{schema}&application_name={schema}");
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let pg = Store::open(&pg_url, 4).unwrap();
        body(&pg, &pg_url, &schema);
    }));
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

fn at(secs: i64) -> chrono::NaiveDateTime {
    DateTime::from_timestamp(1_800_000_000 + secs, 0)
        .unwrap()
        .naive_utc()
}

fn event() -> AuditEvent {
    AuditEvent {
        at: at(0),
        actor: "test".into(),
        action: "cert.revoke".into(),
        target: "x".into(),
        details: "{}".into(),
    }
}

fn issue(s: &Store) -> Serial {
    let p = PendingCertificate {
        serial: Serial::random().unwrap(),
        ca_name: "issuing".into(),
        profile: "tls-server".into(),
        subject: "CN=test".into(),
        sans: vec![],
        not_before: at(0),
        not_after: at(86_400),
        tbs_der: vec![0x30, 0x00],
        tbs_sha256: vec![0; 32],
        crl_shard: 0,
        created_at: at(0),
    };
    s.insert_pending(&p).unwrap();
    s.store_signed(&p.serial, b"der", at(1), &event()).unwrap();
    p.serial
}

fn good(serial: &Serial, this_update: i64) -> OcspResponseRecord {
    OcspResponseRecord {
        serial: serial.clone(),
        ca_name: "issuing".into(),
        signed_for: CertStatus::Issued,
        signer: "resp".into(),
        this_update: at(this_update),
        next_update: at(this_update + 3600),
        der: vec![0x30, this_update as u8],
        revision: 0,
        stale: false,
    }
}

fn revocation(serial: &Serial) -> Revocation {
    Revocation {
        serial: serial.clone(),
        reason: 1,
        revoked_at: at(10),
        invalidity_date: None,
    }
}

/// How many connections named `app` wait for a lock now.
fn lock_waiters(admin: &mut PgConnection, app: &str) -> i64 {
    diesel::select(sql::<BigInt>(&format!(
        "(SELECT count(*) FROM pg_stat_activity \
         WHERE application_name = '{app}' AND wait_event_type = 'Lock')"
    )))
    .get_result(admin)
    .unwrap()
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A batch revoking X < Y, held up at Y by another transaction's `FOR SHARE` (a put of
/// another node), while a put of a response for Y arrives. Had the batch locked the
/// revision counter right after revoking X, the put (holding Y, wanting the counter) and
/// the batch (holding the counter, wanting Y) would deadlock once the holder lets go.
#[test]
fn a_revocation_batch_and_a_put_do_not_deadlock() {
    on_postgres(|s, url, app| {
        let mut pair = [issue(s), issue(s)];
        pair.sort_by_key(Serial::to_hex);
        let [x, y] = pair;
        assert_eq!(
            s.put_ocsp_responses(&[good(&x, 100), good(&y, 100)])
                .unwrap(),
            [true, true]
        );
        let mut holder = PgConnection::establish(url).unwrap();
        holder
            .batch_execute(&format!(
                "BEGIN; SELECT serial FROM certificates WHERE serial = '{y}' FOR SHARE"
            ))
            .unwrap();
        let mut admin = PgConnection::establish(url).unwrap();

        let (batch, put) = std::thread::scope(|scope| {
            let batch = scope.spawn(|| {
                run(
                    s,
                    vec![
                        revoke_job(&revocation(&x), &event()),
                        revoke_job(&revocation(&y), &event()),
                    ],
                )
            });
            wait_until("the batch waits for Y", || {
                lock_waiters(&mut admin, app) == 1
            });
            let put = scope.spawn(|| s.put_ocsp_responses(&[good(&y, 200)]));
            wait_until("the put is done or waits too", || {
                put.is_finished() || lock_waiters(&mut admin, app) == 2
            });
            holder.batch_execute("ROLLBACK").unwrap();
            (batch.join().unwrap(), put.join().unwrap())
        });
        for result in &batch {
            assert!(matches!(result, Ok(Some(_))), "{result:?}");
        }
        // Stored before the revocation (then marked stale by it), or refused after it.
        let put = put.unwrap();
        let y_now = s.ocsp_response(&y).unwrap().unwrap();
        assert_eq!(y_now.this_update, if put[0] { at(200) } else { at(100) });
        assert!(y_now.stale);
        assert!(s.ocsp_response(&x).unwrap().unwrap().stale);
        let revisions: Vec<i64> = s
            .ocsp_changes(0, 10)
            .unwrap()
            .iter()
            .map(|r| r.revision)
            .collect();
        let expected = if put[0] { [4, 5] } else { [3, 4] };
        assert_eq!(revisions, expected);
    });
}
