//! Eight threads issuing at once get unique serials and every certificate is recorded,
//! on SQLite and on PostgreSQL, through one HSM token; so does the issuing pipeline
//! (`Issuance::issue_csrs`) with four HSM sessions signing at once, whose records are
//! committed many to a transaction.

use std::collections::HashSet;

use ca_core::clock::{Clock, SystemClock};
use ca_core::issue::{Issuance, Overrides};
use ca_core::keycheck::Blocklist;
use ca_core::store::{CaStore, CertFilter, CertStatus, CertificateStore};
use hsmca_tests::{inproc, openssl, pki, postgres, softhsm};

const THREADS: usize = 8;
const PER_THREAD: usize = 25;

/// How the certificates are issued.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// THREADS threads calling `issue_csr`.
    Threads,
    /// One `issue_csrs` call with four signing threads.
    Pipeline,
}

fn run_on(url: &str, label_prefix: &str, csr: &[u8], mode: Mode) {
    let t = softhsm::fresh_token(label_prefix);
    let store = ca_store::Store::open(url, 16).unwrap();
    let pki = inproc::ceremony(
        &t.token,
        &store,
        include_str!("../../ceremony/default.toml"),
        label_prefix,
    );
    let (issuer, ca) = (pki.issuing, pki.issuing_ca);
    let profiles = profiles::ProfileSet::builtin().unwrap();
    let profile = profiles.get("tls-server").unwrap();

    let serials: Vec<String> = if mode == Mode::Pipeline {
        let issuance = Issuance {
            issuer: &issuer,
            ca: &ca,
            profile,
            blocklist: &Blocklist::empty(),
            certs: &store,
            actor: "test",
        };
        let csrs = vec![csr; THREADS * PER_THREAD];
        let results = issuance.issue_csrs(&csrs, &Overrides::default(), SystemClock.now(), 4);
        let serials = results
            .into_iter()
            .map(|r| r.unwrap().issued.serial.to_hex())
            .collect();
        // The pending records went to the database a chunk at a time.
        assert!(
            store.stats().largest_batch > 1,
            "records were committed together: {:?}",
            store.stats()
        );
        serials
    } else {
        issue_on_threads(&issuer, &ca, profile, &store, csr)
    };

    let unique: HashSet<_> = serials.iter().cloned().collect();
    assert_eq!(unique.len(), THREADS * PER_THREAD, "serials are unique");
    let recorded = store
        .list_certificates(&CertFilter {
            ca_name: Some("issuing".into()),
            status: Some(CertStatus::Issued),
            ..CertFilter::default()
        })
        .unwrap();
    let recorded_serials: HashSet<_> = recorded.iter().map(|r| r.pending.serial.to_hex()).collect();
    assert_eq!(
        recorded_serials, unique,
        "every certificate is recorded as issued"
    );
    assert!(recorded.iter().all(|r| r.der.is_some()));
    let pending = store
        .list_certificates(&CertFilter {
            status: Some(CertStatus::Pending),
            ..CertFilter::default()
        })
        .unwrap();
    assert!(pending.is_empty(), "nothing left pending");
    // The audit log has one cert.sign entry per certificate (plus the ceremony's) and an
    // unbroken chain.
    let entries = ca_core::store::AuditStore::audit_entries(&store, 1, 10_000).unwrap();
    ca_core::audit::verify_chain(&entries).unwrap();
    let signs = entries
        .iter()
        .filter(|e| e.event.action == "cert.sign")
        .count();
    assert_eq!(signs, THREADS * PER_THREAD + 2);

    // OpenSSL checks a sample against the chain.
    let dir = tempfile::tempdir().unwrap();
    let pem =
        |der: &[u8]| der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap();
    std::fs::write(
        dir.path().join("root.pem"),
        pem(&store.ca("root").unwrap().unwrap().certificate_der),
    )
    .unwrap();
    std::fs::write(dir.path().join("issuing.pem"), pem(&ca.certificate_der)).unwrap();
    for (i, r) in recorded.iter().step_by(37).enumerate() {
        let f = dir.path().join(format!("c{i}.pem"));
        std::fs::write(&f, pem(r.der.as_ref().unwrap())).unwrap();
        openssl::ok(&[
            "verify",
            "-x509_strict",
            "-CAfile",
            dir.path().join("root.pem").to_str().unwrap(),
            "-untrusted",
            dir.path().join("issuing.pem").to_str().unwrap(),
            f.to_str().unwrap(),
        ]);
    }
}

fn issue_on_threads(
    issuer: &ca_core::issuer::Issuer,
    ca: &ca_core::store::CaRecord,
    profile: &profiles::Profile,
    store: &ca_store::Store,
    csr: &[u8],
) -> Vec<String> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(move || {
                    let issuance = Issuance {
                        issuer,
                        ca,
                        profile,
                        blocklist: &Blocklist::empty(),
                        certs: store,
                        actor: "test",
                    };
                    (0..PER_THREAD)
                        .map(|_| {
                            issuance
                                .issue_csr(csr, &Overrides::default(), SystemClock.now())
                                .unwrap()
                                .issued
                                .serial
                                .to_hex()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

fn test_csr() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = pki::csr(
        dir.path(),
        "c",
        "p256",
        "/CN=load.example.com",
        &["subjectAltName=DNS:load.example.com"],
    );
    std::fs::read(p).unwrap()
}

#[test]
fn eight_threads_issue_unique_recorded_certificates_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    run_on(
        db.to_str().unwrap(),
        "conc-sqlite",
        &test_csr(),
        Mode::Threads,
    );
}

#[test]
fn the_pipeline_issues_unique_recorded_certificates_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    run_on(
        db.to_str().unwrap(),
        "pipe-sqlite",
        &test_csr(),
        Mode::Pipeline,
    );
}

#[test]
fn eight_threads_issue_unique_recorded_certificates_on_postgresql() {
    let Some(schema) = postgres::schema("conc") else {
        return;
    };
    run_on(&schema.url(), "conc-pg", &test_csr(), Mode::Threads);
}

#[test]
fn the_pipeline_issues_unique_recorded_certificates_on_postgresql() {
    let Some(schema) = postgres::schema("pipe") else {
        return;
    };
    run_on(&schema.url(), "pipe-pg", &test_csr(), Mode::Pipeline);
}
