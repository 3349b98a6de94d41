//! Where issuance time goes, step by step, with a P-256 CA key on SQLite (or
//! BENCH_DATABASE_URL): CSR parse + proof of possession, key checks, profile application,
//! TBS + lints, record pending, HSM sign, software verify, store signed with its audit event.
//! `cargo bench -p hsmca-bench --bench breakdown`.

use std::time::{Duration, Instant};

use ca_core::clock::{Clock, SystemClock};
use ca_core::csr::parse_csr;
use ca_core::issue::{key_policy, plan, IssueRequest, KeyFacts, San};
use ca_core::keycheck::{check_public_key, Blocklist};
use ca_core::store::{AuditEvent, CertificateStore};
use hsmca_tests::{inproc, pki, softhsm};

fn main() {
    let t = softhsm::fresh_token("breakdown");
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| dir.path().join("b.db").display().to_string());
    let store = ca_store::Store::open(&url, 4).unwrap();
    let pki = inproc::ceremony(
        &t.token,
        &store,
        include_str!("../../ceremony/default.toml"),
        "breakdown",
    );
    let (issuer, ca, issuing_key) = (pki.issuing, pki.issuing_ca, pki.issuing_key);
    let profiles = profiles::ProfileSet::builtin().unwrap();
    let profile = profiles.get("tls-server").unwrap();
    let csr = std::fs::read(pki::csr(
        dir.path(),
        "c",
        "p256",
        "/CN=load.example.com",
        &["subjectAltName=DNS:load.example.com"],
    ))
    .unwrap();

    let n = 1000u32;
    let mut steps: Vec<(&str, Duration)> = vec![
        ("parse CSR + verify", Duration::ZERO),
        ("key checks", Duration::ZERO),
        ("apply profile", Duration::ZERO),
        ("serial + TBS + lints", Duration::ZERO),
        ("record pending", Duration::ZERO),
        ("HSM sign", Duration::ZERO),
        ("verify signature", Duration::ZERO),
        ("store signed + audit", Duration::ZERO),
    ];
    let policy = key_policy(profile, None);
    let total = Instant::now();
    for _ in 0..n {
        let mut lap = Instant::now();
        let mut tick = |i: usize, steps: &mut Vec<(&str, Duration)>| {
            steps[i].1 += lap.elapsed();
            lap = Instant::now();
        };
        let parsed = parse_csr(&csr).unwrap();
        tick(0, &mut steps);
        let checked = check_public_key(parsed.public_key(), &policy, &Blocklist::empty()).unwrap();
        tick(1, &mut steps);
        let _ = checked;
        let req = IssueRequest {
            subject: parsed.subject().clone(),
            public_key: parsed.public_key().clone(),
            key: KeyFacts {
                kind: profiles::KeyKindName::EcP256,
                rsa_bits: None,
            },
            requested_extensions: parsed.extensions().to_vec(),
            sans: vec![San::Dns("load.example.com".into())],
            validity_days: None,
        };
        let planned = plan(profile, req, &ca, SystemClock.now(), 0).unwrap();
        tick(2, &mut steps);
        let prepared = issuer.prepare(planned.template, SystemClock.now()).unwrap();
        tick(3, &mut steps);
        let pending = prepared.pending().clone();
        store.insert_pending(&pending).unwrap();
        tick(4, &mut steps);
        let sig = issuing_key.sign(&pending.tbs_der).unwrap();
        tick(5, &mut steps);
        ca_core::verify::verify_signature(
            issuing_key.scheme(),
            issuing_key.spki_der(),
            &pending.tbs_der,
            &sig,
        )
        .unwrap();
        tick(6, &mut steps);
        let event = AuditEvent {
            at: SystemClock.now(),
            actor: "bench".into(),
            action: "cert.sign".into(),
            target: pending.serial.to_hex(),
            details: "{}".into(),
        };
        store
            .store_signed(&pending.serial, &sig, SystemClock.now(), &event)
            .unwrap();
        tick(7, &mut steps);
    }
    let all = total.elapsed();
    println!(
        "{} issuances, {:.0} µs each ({} backend)",
        n,
        all.as_micros() as f64 / f64::from(n),
        store.backend_name()
    );
    for (name, d) in &steps {
        println!(
            "  {name:<22} {:>8.1} µs",
            d.as_micros() as f64 / f64::from(n)
        );
    }
}
