//! The responder's memory outlives its database: pre-signed answers keep coming while the
//! database is locked (slow) and after it is gone, and `/readyz` says what is missing. And a
//! delegated responder is renewed before it expires, with every response moved to the new key.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ca_core::clock::{Clock, FixedClock, SystemClock};
use ca_core::issue::{Issuance, Overrides};
use ca_core::keycheck::Blocklist;
use ca_core::store::{CertStatus, OcspStore};
use chrono::Duration as Days;
use hsmca_tests::cli::Hsmca;
use hsmca_tests::serve::{http, Server};
use hsmca_tests::{inproc, openssl, pki, postgres, softhsm};
use ocsp_responder::service::{refresh_once, start, Parts};
use ocsp_responder::OcspConfig;

fn good(h: &Hsmca, url: &str, cert: &std::path::Path) -> bool {
    let p = |n: &str| h.path(n).to_str().unwrap().to_string();
    let out = openssl::run(&[
        "ocsp",
        "-issuer",
        &p("issuing.pem"),
        "-cert",
        cert.to_str().unwrap(),
        "-url",
        url,
        "-CAfile",
        &p("root.pem"),
        "-verify_other",
        &p("issuing.pem"),
        "-no_nonce",
        "-timeout",
        "10",
    ]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    out.status.success() && text.contains(": good") && text.contains("Response verify OK")
}

#[test]
fn pre_signed_answers_survive_a_locked_and_then_a_dropped_database() {
    let Some(schema) = postgres::schema("ocsp_dbdown") else {
        return;
    };
    let h = pki::initialise(
        Hsmca::new().env("HSMCA_DATABASE_URL", &schema.url()),
        pki::PUBLIC_URL_CEREMONY,
    );
    let (leaf, _) = pki::issue_tls(&h, "db");
    let mut server = Server::start(&h, &[]);
    // Wait until the refresher pre-signed the leaf (the first query may be a miss).
    assert!(good(&h, &server.url(), &leaf));
    let metrics =
        || String::from_utf8(http(server.addr, "GET", "/metrics", &[], b"").body).unwrap();
    assert!(metrics().contains("hsmca_ocsp_cached_presigned"));

    // Slow: every table the responder reads is locked for 4 seconds.
    let lock = format!(
        "BEGIN; LOCK TABLE {s}.ocsp_responses, {s}.certificates, {s}.ocsp_revision IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;",
        s = schema.name()
    );
    let mut holder = Command::new("psql")
        .args([schema.base_url(), "-q", "-c", &lock])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let asked = Instant::now();
    assert!(good(&h, &server.url(), &leaf), "{}", server.log());
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "answered in {:?} while the database was locked",
        asked.elapsed()
    );
    assert!(holder.wait().unwrap().success());

    // Gone: the schema is dropped under the running server.
    schema
        .admin_sql(&format!("DROP SCHEMA {} CASCADE", schema.name()))
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert!(good(&h, &server.url(), &leaf), "{}", server.log());
    let r = http(server.addr, "GET", "/readyz", &[], b"");
    assert_eq!(r.status, 503);
    assert!(
        String::from_utf8_lossy(&r.body).contains("database"),
        "{:?}",
        r.body
    );
    assert!(metrics().contains("hsmca_ocsp_background_failures_total"));
    assert!(server.alive());
}

#[test]
fn delegated_responders_are_renewed_before_they_expire_and_responses_follow() {
    let t = softhsm::fresh_token("renew");
    let dir = tempfile::tempdir().unwrap();
    let store = ca_store::Store::open(dir.path().join("r.db").to_str().unwrap(), 4).unwrap();
    let p = inproc::ceremony(
        &t.token,
        &store,
        include_str!("../../ceremony/default.toml"),
        "renew",
    );
    let profiles = profiles::ProfileSet::builtin().unwrap();
    let csr = pki::csr(
        dir.path(),
        "leaf",
        "p256",
        "/CN=r.example.com",
        &["subjectAltName=DNS:r.example.com"],
    );
    let t0 = SystemClock.now();
    let leaf = Issuance {
        issuer: &p.issuing,
        ca: &p.issuing_ca,
        profile: profiles.get("tls-server").unwrap(),
        blocklist: &Blocklist::empty(),
        certs: &store,
        actor: "test",
    }
    .issue_csr(&std::fs::read(csr).unwrap(), &Overrides::default(), t0)
    .unwrap()
    .issued;
    // Responder certificates of 3 days, responses of 8 hours: renewal once less than
    // 2 × 8 h + 24 h = 40 h remain.
    let config = OcspConfig {
        signer_validity_days: 3,
        validity_hours: 8,
        ..OcspConfig::default()
    };
    config.validate().unwrap();
    let parts = |at| Parts {
        token: t.token.clone(),
        store: Arc::new(store.clone()),
        profiles: profiles.clone(),
        clock: Arc::new(FixedClock(at)),
        config: config.clone(),
    };
    let responder = start(&parts(t0)).unwrap();
    assert!(refresh_once(&parts(t0), &responder).unwrap() >= 1);
    let first = store.ocsp_signer("issuing").unwrap().unwrap();
    assert_eq!(first.generation, 1);
    let r = store.ocsp_response(&leaf.serial).unwrap().unwrap();
    assert_eq!(r.signer, first.key_label);
    assert_eq!(r.signed_for, CertStatus::Issued);

    // A day later nothing changes: 2 days remain, more than 40 h.
    assert!(
        refresh_once(&parts(t0 + Days::days(1)), &responder).unwrap() > 0,
        "responses past half-life are re-signed"
    );
    assert_eq!(store.ocsp_signer("issuing").unwrap().unwrap().generation, 1);

    // Two days later 1 day remains: a new responder, and every response moves to it.
    let t2 = t0 + Days::days(2);
    refresh_once(&parts(t2), &responder).unwrap();
    let second = store.ocsp_signer("issuing").unwrap().unwrap();
    assert_eq!(second.generation, 2);
    assert_ne!(second.key_label, first.key_label);
    assert!(second.not_after > first.not_after);
    t.token
        .find_key(&second.key_label)
        .expect("the new responder key is in the HSM");
    let r = store.ocsp_response(&leaf.serial).unwrap().unwrap();
    assert_eq!(r.signer, second.key_label);
    assert_eq!(r.this_update, t2);
    let issuing = responder
        .cas()
        .iter()
        .find(|c| c.name == "issuing")
        .unwrap();
    assert_eq!(issuing.key().generation, 2);
    // The new responder certificate was issued like any other: recorded and issued.
    let cert = ca_core::store::CertificateStore::certificate(&store, &second.serial)
        .unwrap()
        .unwrap();
    assert_eq!(cert.status, CertStatus::Issued);
    assert_eq!(cert.pending.profile, "ocsp-signing");
}

#[test]
fn on_demand_signing_is_bounded_and_the_excess_is_told_to_try_later() {
    use ca_core::ocsp::asn1::{OcspRequest, OcspResponse, OcspResponseStatus, Request, TbsRequest};
    use der::{Decode, Encode};
    use ocsp_responder::engine::Outcome;
    let t = softhsm::fresh_token("queue");
    let dir = tempfile::tempdir().unwrap();
    let store = ca_store::Store::open(dir.path().join("q.db").to_str().unwrap(), 4).unwrap();
    inproc::ceremony(
        &t.token,
        &store,
        include_str!("../../ceremony/default.toml"),
        "queue",
    );
    let config = OcspConfig {
        max_signing_queue: 1,
        ..OcspConfig::default()
    };
    let now = SystemClock.now();
    let parts = Parts {
        token: t.token.clone(),
        store: Arc::new(store.clone()),
        profiles: profiles::ProfileSet::builtin().unwrap(),
        clock: Arc::new(FixedClock(now)),
        config,
    };
    let responder = start(&parts).unwrap();
    let issuing = responder
        .cas()
        .iter()
        .find(|c| c.name == "issuing")
        .unwrap();
    // Requests for never-issued serials: each needs a signature.
    let request = |n: u8| {
        let serial = ca_core::serial::Serial::from_bytes(&[0x11, n]).unwrap();
        OcspRequest {
            tbs_request: TbsRequest {
                version: Default::default(),
                requestor_name: None,
                request_list: vec![Request {
                    req_cert: issuing.sha1_cert_id(&serial).unwrap(),
                    single_request_extensions: None,
                }],
                request_extensions: None,
            },
            optional_signature: None,
        }
        .to_der()
        .unwrap()
    };
    let status = |o: &Outcome| match o {
        Outcome::Reply(r) => Some(OcspResponse::from_der(&r.body).unwrap().response_status),
        Outcome::Sign(_) => None,
    };
    let first = responder.answer_fast(&request(1), now);
    assert_eq!(status(&first), None, "the first one is signed");
    let second = responder.answer_fast(&request(2), now);
    assert_eq!(status(&second), Some(OcspResponseStatus::TryLater));
    let Outcome::Sign(work) = first else {
        unreachable!()
    };
    let reply = responder.answer_slow(work, now);
    let parsed = OcspResponse::from_der(&reply.body).unwrap();
    assert_eq!(parsed.response_status, OcspResponseStatus::Successful);
    // The slot is free again.
    assert_eq!(status(&responder.answer_fast(&request(3), now)), None);
}
