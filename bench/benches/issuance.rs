//! Issuance benchmark (issue 3): end-to-end issuance rate (parse, check, lint, record,
//! HSM-sign, verify, store) with 1 and 2 workers on SQLite and PostgreSQL, beside the raw
//! SoftHSM2 signing rate of the same CA key and `openssl ca -batch` issuing 1,000
//! certificates in one process with the same kind of key, all in one run.
//!
//! `cargo bench -p hsmca-bench --bench issuance` (PostgreSQL from HSMCA_TEST_DATABASE_URL;
//! BENCH_SECONDS per measurement, default 5).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ca_core::clock::{Clock, SystemClock};
use ca_core::issue::{Issuance, Overrides};
use ca_core::keycheck::Blocklist;
use ca_core::signing::CaKey;
use hsmca_bench::rate;
use hsmca_tests::{inproc, pki, postgres, softhsm};

struct Row {
    what: String,
    workers: usize,
    per_sec: f64,
}

fn seconds() -> Duration {
    Duration::from_secs_f64(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5.0),
    )
}

fn ceremony(issuing_key: &str) -> String {
    include_str!("../../ceremony/default.toml")
        .replace("key = \"ec-p256\"", &format!("key = \"{issuing_key}\""))
}

fn openssl_ca_rate(dir: &Path, kind: &str, n: usize) -> f64 {
    let sh = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let keyopt: Vec<&str> = match kind {
        "rsa-2048" => vec!["-newkey", "rsa:2048"],
        _ => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    };
    std::fs::create_dir_all(dir.join("newcerts")).unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), "1000\n").unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = ca\n[ca]\ndir = .\ndatabase = index.txt\nnew_certs_dir = newcerts\n\
         certificate = ca.pem\nprivate_key = ca.key\nserial = serial\ndefault_md = sha256\n\
         default_days = 90\npolicy = any\nunique_subject = no\ncopy_extensions = none\n\
         x509_extensions = leaf\n[any]\ncommonName = supplied\n\
         [leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = DNS:load.example.com\n\
         authorityKeyIdentifier = keyid\ncertificatePolicies = 2.23.140.1.2.1\n\
         crlDistributionPoints = URI:http://127.0.0.1:8080/crl/issuing/0.crl\n\
         authorityInfoAccess = OCSP;URI:http://127.0.0.1:8080/ocsp\n",
    )
    .unwrap();
    let mut args = vec!["req", "-x509", "-nodes"];
    args.extend(&keyopt);
    args.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=openssl bench CA",
        "-days",
        "365",
    ]);
    sh(&args);
    let mut args = vec!["req", "-new", "-nodes"];
    args.extend(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    args.extend([
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=load.example.com",
    ]);
    sh(&args);
    let csrs: Vec<String> = (0..n).map(|_| "leaf.csr".to_string()).collect();
    let mut args: Vec<&str> = vec![
        "ca", "-batch", "-config", "ca.cnf", "-notext", "-out", "all.pem", "-infiles",
    ];
    args.extend(csrs.iter().map(String::as_str));
    let t = Instant::now();
    sh(&args);
    n as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let dur = seconds();
    let mut rows: Vec<Row> = Vec::new();
    let csr_dir = tempfile::tempdir().unwrap();
    let csr = std::fs::read(pki::csr(
        csr_dir.path(),
        "leaf",
        "p256",
        "/CN=load.example.com",
        &["subjectAltName=DNS:load.example.com"],
    ))
    .unwrap();
    let pg = postgres::schema("bench");
    let profiles = profiles::ProfileSet::builtin().unwrap();
    let profile = profiles.get("tls-server").unwrap();

    // BENCH_KINDS / BENCH_BACKENDS / BENCH_MODES (single, batch, raw, openssl) narrow a run (e.g. for profiling); default: everything.
    let wanted =
        |var: &str, v: &str| std::env::var(var).map_or(true, |w| w.split(',').any(|x| x == v));
    for kind in ["rsa-2048", "ec-p256"]
        .into_iter()
        .filter(|k| wanted("BENCH_KINDS", k))
    {
        let t = softhsm::fresh_token(&format!("bench-{kind}"));
        let sqlite_dir = tempfile::tempdir().unwrap();
        let mut backends: Vec<(&str, String)> = vec![(
            "sqlite",
            sqlite_dir.path().join("b.db").display().to_string(),
        )];
        if let Some(s) = &pg {
            backends.push(("postgres", s.url()));
        }
        let mut raw_signer: Option<CaKey> = None;
        backends.retain(|(b, _)| wanted("BENCH_BACKENDS", b));
        for (i, (backend, url)) in backends.iter().enumerate() {
            // A fresh schema/database per key kind keeps the CA names unique.
            let url = if *backend == "postgres" {
                let s = postgres::schema(&format!("bench_{}", kind.replace('-', "_"))).unwrap();
                let u = s.url();
                std::mem::forget(s); // dropped with the server's test schemas; tiny
                u
            } else {
                url.clone()
            };
            let store = ca_store::Store::open(&url, 8).unwrap();
            let pki = inproc::ceremony(&t.token, &store, &ceremony(kind), &format!("{backend}{i}"));
            let (issuer, ca) = (&pki.issuing, &pki.issuing_ca);
            let signer = pki.issuing_key.clone();
            raw_signer.get_or_insert(signer);
            let issuance = Issuance {
                issuer,
                ca,
                profile,
                blocklist: &Blocklist::empty(),
                certs: &store,
                actor: "bench",
            };
            for workers in [1, 2]
                .into_iter()
                .filter(|_| wanted("BENCH_MODES", "single"))
            {
                let r = rate(workers, dur, || {
                    issuance
                        .issue_csr(&csr, &Overrides::default(), SystemClock.now())
                        .unwrap();
                });
                rows.push(Row {
                    what: format!("hsmca issue, {kind} CA key, {backend}"),
                    workers,
                    per_sec: r,
                });
            }
            // The pipeline (Issuance::issue_csrs) over batches of 1,000 CSRs, as
            // `openssl ca -batch` gets them; workers are its HSM signing threads.
            let batch: Vec<&[u8]> = vec![&csr[..]; 1000];
            for signers in [1, 2]
                .into_iter()
                .filter(|_| wanted("BENCH_MODES", "batch"))
            {
                let start = Instant::now();
                let mut issued = 0usize;
                while start.elapsed() < dur {
                    let results = issuance.issue_csrs(
                        &batch,
                        &Overrides::default(),
                        SystemClock.now(),
                        signers,
                    );
                    for r in results {
                        r.unwrap();
                        issued += 1;
                    }
                }
                rows.push(Row {
                    what: format!("hsmca issue, batches of 1000, {kind} CA key, {backend}"),
                    workers: signers,
                    per_sec: issued as f64 / start.elapsed().as_secs_f64(),
                });
            }
        }
        let signer = raw_signer.unwrap();
        let msg = vec![0x5au8; 700]; // about the size of a leaf TBS
        for workers in [1, 2].into_iter().filter(|_| wanted("BENCH_MODES", "raw")) {
            let r = rate(workers, dur, || {
                signer.sign(&msg).unwrap();
            });
            rows.push(Row {
                what: format!("raw SoftHSM2 sign, {kind}"),
                workers,
                per_sec: r,
            });
        }
        if wanted("BENCH_MODES", "openssl") {
            let od = tempfile::tempdir().unwrap();
            let r = openssl_ca_rate(od.path(), kind, 1000);
            rows.push(Row {
                what: format!("openssl ca -batch, 1000 certs, {kind} CA key"),
                workers: 1,
                per_sec: r,
            });
        }
    }

    println!("| measurement | workers | per second |");
    println!("|---|---|---|");
    for r in &rows {
        println!("| {} | {} | {:.0} |", r.what, r.workers, r.per_sec);
    }
    let get = |what: &str, w: usize| {
        rows.iter()
            .find(|r| r.what == what && r.workers == w)
            .map(|r| r.per_sec)
    };
    println!();
    // Each way of issuing against the same-run peer: per-request calls on 1 and 2 threads,
    // and the pipeline with 1 and 2 signing threads.
    let modes = [
        ("hsmca issue", "per request"),
        ("hsmca issue, batches of 1000", "pipeline"),
    ];
    for (prefix, label) in modes {
        for backend in ["sqlite", "postgres"] {
            for w in [1, 2] {
                if let (Some(i), Some(raw)) = (
                    get(&format!("{prefix}, rsa-2048 CA key, {backend}"), w),
                    get("raw SoftHSM2 sign, rsa-2048", w),
                ) {
                    println!(
                        "RSA-2048 {backend} {label} {w} worker(s): issuance at {:.0}% of raw HSM signing (target ≥ 80%)",
                        100.0 * i / raw
                    );
                }
            }
        }
    }
    for (prefix, label) in modes {
        for backend in ["sqlite", "postgres"] {
            for w in [1, 2] {
                if let (Some(i), Some(o)) = (
                    get(&format!("{prefix}, ec-p256 CA key, {backend}"), w),
                    get("openssl ca -batch, 1000 certs, ec-p256 CA key", 1),
                ) {
                    println!(
                        "P-256 {backend} {label} {w} worker(s): {:.1}× openssl ca -batch (target ≥ 4×)",
                        i / o
                    );
                }
            }
        }
    }
}
