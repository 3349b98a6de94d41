//! Issuance benchmark (issue 3): end-to-end issuance rate (parse, check, lint, record,
//! HSM-sign, verify, store) with 1 and 2 workers on SQLite and PostgreSQL, beside the raw
//! SoftHSM2 signing rate of the same CA key and `openssl ca -batch` issuing 1,000
//! certificates in one process with the same kind of key, all in one run.
//!
//! `cargo bench -p hsmca-bench --bench issuance` (PostgreSQL from HSMCA_TEST_DATABASE_URL;
//! BENCH_SECONDS per measurement, default 5, taken in BENCH_ROUNDS slices, default 5,
//! interleaved with the other measurements of the same CA key kind).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ca_core::clock::{Clock, SystemClock};
use ca_core::issue::{Issuance, Overrides};
use ca_core::keycheck::Blocklist;
use ca_core::signing::CaKey;
use hsmca_bench::count;
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

/// `openssl ca -batch` issuing `n` certificates from one P-256 CSR in one process, with a
/// CA key of `kind`: the CA and the CSR are made once, and each call of the returned slice
/// issues the `n` certificates afresh (empty `index.txt`), timing only `openssl ca`.
fn openssl_ca(dir: &Path, kind: &str, n: usize) -> impl FnMut(Duration) -> (u64, Duration) {
    let sh = |dir: &Path, args: &[&str]| {
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
    sh(dir, &args);
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
    sh(dir, &args);
    let dir = dir.to_path_buf();
    move |_slice| {
        // A fresh database and certificate directory each time, outside the timing.
        let _ = std::fs::remove_dir_all(dir.join("newcerts"));
        std::fs::create_dir_all(dir.join("newcerts")).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        let mut args: Vec<&str> = vec![
            "ca", "-batch", "-config", "ca.cnf", "-notext", "-out", "all.pem", "-infiles",
        ];
        args.extend(std::iter::repeat_n("leaf.csr", n));
        let t = Instant::now();
        sh(&dir, &args);
        (n as u64, t.elapsed())
    }
}

/// One measurement, taken a slice at a time.
struct Measure<'a> {
    what: String,
    workers: usize,
    /// Runs for about the given time (the pipeline: whole batches; openssl: one run) and
    /// returns how many operations it did and how long they took.
    slice: Box<dyn FnMut(Duration) -> (u64, Duration) + 'a>,
    ops: u64,
    took: Duration,
}

/// Takes every measurement in `rounds` slices of `dur / rounds` each, interleaved (the order
/// reversed every other round): each figure is then an average over the same stretch of
/// time as its peers', so that a shared machine's changing speed does not favour one.
fn interleaved(measures: &mut [Measure<'_>], dur: Duration, rounds: u32) {
    let slice = dur / rounds;
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..measures.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let m = &mut measures[i];
            let (ops, took) = (m.slice)(slice);
            m.ops += ops;
            m.took += took;
        }
    }
}

/// A measurement that runs `op` on `workers` threads for each slice.
fn threads<'a>(what: String, workers: usize, op: impl Fn() + Sync + 'a) -> Measure<'a> {
    Measure {
        what,
        workers,
        slice: Box::new(move |slice| {
            let start = Instant::now();
            let ops = count(workers, slice, &op);
            (ops, start.elapsed())
        }),
        ops: 0,
        took: Duration::ZERO,
    }
}

fn main() {
    let dur = seconds();
    let rounds: u32 = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
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
    let blocklist = Blocklist::empty();
    let batch: Vec<&[u8]> = vec![&csr[..]; 1000];
    let msg = vec![0x5au8; 700]; // about the size of a leaf TBS

    // BENCH_KINDS / BENCH_BACKENDS / BENCH_MODES (single, batch, raw, openssl) /
    // BENCH_WORKERS (1, 2) narrow a run (e.g. for profiling); default: everything.
    let wanted =
        |var: &str, v: &str| std::env::var(var).map_or(true, |w| w.split(',').any(|x| x == v));
    let workers: Vec<usize> = [1, 2]
        .into_iter()
        .filter(|w| wanted("BENCH_WORKERS", &w.to_string()))
        .collect();
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
        backends.retain(|(b, _)| wanted("BENCH_BACKENDS", b));
        // Declared before the stores that use them, so dropped after them: each run's
        // schemas (some 120 MB of certificates each) go when the key kind is done.
        let mut schemas = Vec::new();
        let mut cas = Vec::new();
        for (i, (backend, url)) in backends.iter().enumerate() {
            // A fresh schema/database per key kind keeps the CA names unique.
            let url = if *backend == "postgres" {
                let s = postgres::schema(&format!("bench_{}", kind.replace('-', "_"))).unwrap();
                let u = s.url();
                schemas.push(s);
                u
            } else {
                url.clone()
            };
            let store = ca_store::Store::open(&url, 8).unwrap();
            let pki = inproc::ceremony(&t.token, &store, &ceremony(kind), &format!("{backend}{i}"));
            cas.push((*backend, store, pki));
        }
        let raw_signer: Option<CaKey> = cas.first().map(|(_, _, pki)| pki.issuing_key.clone());
        let openssl_dir = tempfile::tempdir().unwrap();

        let mut measures: Vec<Measure<'_>> = Vec::new();
        for (backend, store, pki) in &cas {
            let issuance = Issuance {
                issuer: &pki.issuing,
                ca: &pki.issuing_ca,
                profile,
                blocklist: &blocklist,
                certs: store,
                actor: "bench",
            };
            for &w in workers.iter().filter(|_| wanted("BENCH_MODES", "single")) {
                let csr = &csr;
                measures.push(threads(
                    format!("hsmca issue, {kind} CA key, {backend}"),
                    w,
                    move || {
                        issuance
                            .issue_csr(csr, &Overrides::default(), SystemClock.now())
                            .unwrap();
                    },
                ));
            }
            // The pipeline (Issuance::issue_csrs) over batches of 1,000 CSRs, as
            // `openssl ca -batch` gets them; workers are its HSM signing threads.
            for &signers in workers.iter().filter(|_| wanted("BENCH_MODES", "batch")) {
                let batch = &batch;
                measures.push(Measure {
                    what: format!("hsmca issue, batches of 1000, {kind} CA key, {backend}"),
                    workers: signers,
                    slice: Box::new(move |slice| {
                        let start = Instant::now();
                        let mut issued = 0;
                        while issued == 0 || start.elapsed() < slice {
                            let results = issuance.issue_csrs(
                                batch,
                                &Overrides::default(),
                                SystemClock.now(),
                                signers,
                            );
                            for r in results {
                                r.unwrap();
                                issued += 1;
                            }
                        }
                        (issued, start.elapsed())
                    }),
                    ops: 0,
                    took: Duration::ZERO,
                });
            }
        }
        if let Some(signer) = raw_signer.as_ref() {
            for &w in workers.iter().filter(|_| wanted("BENCH_MODES", "raw")) {
                let msg = &msg;
                measures.push(threads(
                    format!("raw SoftHSM2 sign, {kind}"),
                    w,
                    move || {
                        signer.sign(msg).unwrap();
                    },
                ));
            }
        }
        if wanted("BENCH_MODES", "openssl") {
            measures.push(Measure {
                what: format!("openssl ca -batch, 1000 certs, {kind} CA key"),
                workers: 1,
                slice: Box::new(openssl_ca(openssl_dir.path(), kind, 1000)),
                ops: 0,
                took: Duration::ZERO,
            });
        }
        interleaved(&mut measures, dur, rounds);
        rows.extend(measures.into_iter().map(|m| Row {
            what: m.what,
            workers: m.workers,
            per_sec: m.ops as f64 / m.took.as_secs_f64(),
        }));
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
