//! Fills an initialised hsmca data directory with certificates for the OCSP benchmark
//! (`bench/ocsp/run.sh`, issue 4), much faster than calling `hsmca issue` once per
//! certificate, and writes what the load generator and the peers need.
//!
//! ```text
//! ocsp_populate --data-dir DATA --out DIR --request-template REQ.der
//!               [--count 100000] [--sample 10000] [--threads 2] [--ca issuing]
//! ```
//!
//! It opens the data directory's SoftHSM2 token (`DATA/softhsm2.conf`, token `hsmca`, the
//! Crypto User PIN from `DATA/secrets/user.pin`) and its SQLite store (`DATA/hsmca.db`) in
//! this process, as `hsmca_tests::inproc` does, and issues `--count` `tls-server`
//! certificates from CA `--ca` through [`ca_core::issue::Issuance::issue_csr`] — the same
//! pipeline as `hsmca issue` (record, sign in the HSM, verify, store, audit) — on
//! `--threads` threads, all from one P-256 CSR for `load.example.com` (every certificate
//! gets its own random serial). Then it writes into `--out`:
//!
//! - `index.txt`: the certificates as an `openssl ca` database, for `openssl ocsp -index`
//!   (`V`, notAfter as `YYMMDDHHMMSSZ`, no revocation date, the serial in upper-case hex,
//!   `unknown`, the subject), and `index.txt.attr` with `unique_subject = no` (all the
//!   certificates share one subject, which OpenSSL's index refuses by default);
//! - `sample.tsv`: `SERIAL<TAB>/ocsp/SEGMENT` for `--sample` certificates spread evenly over
//!   the issuance order (serials are random, so this is a random sample of serials), where
//!   SEGMENT is the URL-encoded base64 of a DER OCSP request for that certificate: the
//!   `--request-template` (made by `openssl ocsp -issuer CA.pem -serial 0x01 -no_nonce
//!   -reqout`, so one SHA-1 CertID and no nonce, exactly what OpenSSL sends) with its serial
//!   replaced.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ca_core::clock::{Clock, SystemClock};
use ca_core::issue::{Issuance, Overrides};
use ca_core::keycheck::Blocklist;
use ca_core::ocsp::asn1::OcspRequest;
use ca_core::store::CaStore;
use der::{Decode, Encode};
use hsmca_bench::{ocsp_get_segment, Opts};
use hsmca_tests::{inproc, pki};

const USAGE: &str = "ocsp_populate --data-dir DATA --out DIR --request-template REQ.der \
                     [--count 100000] [--sample 10000] [--threads 2] [--ca issuing]";

/// Subject of every certificate (from the CSR).
const SUBJECT: &str = "/CN=load.example.com";

/// What the benchmark keeps of one issued certificate.
struct Issued {
    /// Serial, upper-case hex as OpenSSL prints it (`BN_bn2hex`).
    serial_hex: String,
    /// DER of the certificate's serialNumber INTEGER.
    serial_der: Vec<u8>,
    /// notAfter, `YYMMDDHHMMSSZ`.
    not_after: String,
}

fn main() {
    let o = Opts::from_args(USAGE);
    let data = PathBuf::from(o.required("data-dir"));
    let out = PathBuf::from(o.required("out"));
    let template = std::fs::read(o.required("request-template")).expect("request template");
    let count: usize = o.number("count", 100_000);
    let sample: usize = o.number("sample", 10_000).clamp(1, count.max(1));
    let threads: usize = o.number("threads", 2).max(1);
    let ca_name = o.get("ca").unwrap_or("issuing").to_string();
    std::fs::create_dir_all(&out).expect("output directory");

    let token = inproc::open_token(&data);
    let db = data.join("hsmca.db");
    let store = ca_store::Store::open(db.to_str().expect("UTF-8 path"), 8).expect("open store");
    let ca = store
        .ca(&ca_name)
        .expect("read CA")
        .unwrap_or_else(|| panic!("no CA {ca_name:?} in {}", db.display()));
    let issuer = inproc::issuer(&token, &ca);
    let profiles = profiles::ProfileSet::builtin().expect("profiles");
    let profile = profiles.get("tls-server").expect("tls-server profile");
    let csr = std::fs::read(pki::csr(
        &out,
        "load",
        "p256",
        SUBJECT,
        &["subjectAltName=DNS:load.example.com"],
    ))
    .expect("CSR");
    let issuance = Issuance {
        issuer: &issuer,
        ca: &ca,
        profile,
        blocklist: &Blocklist::empty(),
        certs: &store,
        actor: "ocsp-bench",
    };

    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let issued: Vec<Issued> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break mine;
                        }
                        let c = issuance
                            .issue_csr(&csr, &Overrides::default(), SystemClock.now())
                            .expect("issue");
                        let certificate = c.issued.certificate().expect("decode");
                        let tbs = certificate.tbs_certificate();
                        mine.push(Issued {
                            serial_hex: c
                                .issued
                                .serial
                                .as_bytes()
                                .iter()
                                .map(|b| format!("{b:02X}"))
                                .collect(),
                            serial_der: tbs.serial_number().to_der().expect("serial DER"),
                            not_after: openssl_time(&tbs.validity().not_after.to_date_time()),
                        });
                        if (i + 1).is_multiple_of(10_000) {
                            eprintln!(
                                "ocsp_populate: {} issued, {:.0}/s",
                                i + 1,
                                (i + 1) as f64 / start.elapsed().as_secs_f64()
                            );
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("issuing thread"))
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "issued {} certificates in {secs:.1} s ({:.0}/s, {threads} threads)",
        issued.len(),
        issued.len() as f64 / secs
    );

    write_index(&out.join("index.txt"), &issued);
    write_sample(&out.join("sample.tsv"), &issued, sample, &template);
}

/// `YYMMDDHHMMSSZ`, as `openssl ca` writes notAfter into `index.txt` (UTCTime; the
/// certificates here expire long before 2050).
fn openssl_time(t: &der::DateTime) -> String {
    format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        t.year() % 100,
        t.month(),
        t.day(),
        t.hour(),
        t.minutes(),
        t.seconds()
    )
}

fn write_index(path: &Path, issued: &[Issued]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("index.txt"));
    for c in issued {
        writeln!(
            f,
            "V\t{}\t\t{}\tunknown\t{SUBJECT}",
            c.not_after, c.serial_hex
        )
        .expect("write index.txt");
    }
    f.flush().expect("write index.txt");
    let mut attr = path.as_os_str().to_owned();
    attr.push(".attr");
    std::fs::write(attr, "unique_subject = no\n").expect("write index.txt.attr");
}

fn write_sample(path: &Path, issued: &[Issued], sample: usize, template: &[u8]) {
    let mut req = OcspRequest::from_der(template).expect("the template is a DER OCSPRequest");
    assert_eq!(
        req.tbs_request.request_list.len(),
        1,
        "the template asks about one certificate"
    );
    assert!(
        req.tbs_request.request_extensions.is_none(),
        "the template has no nonce (openssl ocsp -no_nonce)"
    );
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("sample.tsv"));
    let stride = (issued.len() / sample).max(1);
    for c in issued.iter().step_by(stride).take(sample) {
        // The field's type (x509-cert's SerialNumber) is inferred: the bench crate does not
        // name x509-cert.
        req.tbs_request.request_list[0].req_cert.serial_number =
            Decode::from_der(&c.serial_der).expect("serial INTEGER");
        let der = req.to_der().expect("encode request");
        writeln!(f, "{}\t/ocsp/{}", c.serial_hex, ocsp_get_segment(&der))
            .expect("write sample.tsv");
    }
    f.flush().expect("write sample.tsv");
}
