//! Fetches the pre-signed OCSP responses of the benchmark's sample from a running
//! `hsmca serve` and writes them as static files for nginx (`bench/ocsp/run.sh`, issue 4),
//! so nginx serves exactly the bytes hsmca serves.
//!
//! ```text
//! ocsp_fetch --addr 127.0.0.1:PORT --sample sample.tsv --out DIR
//! ```
//!
//! For every `SERIAL<TAB>PATH` line of `--sample` (written by `ocsp_populate`) it sends
//! `GET PATH`, requires `200` with `Content-Type: application/ocsp-response` and a
//! successful OCSPResponse, and writes the body to `DIR/static/r/SERIAL`; the nginx
//! request paths (`/r/SERIAL`) go to `DIR/nginx-paths.txt`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use ca_core::ocsp::asn1::{OcspResponse, OcspResponseStatus};
use der::Decode;
use hsmca_bench::Opts;
use hsmca_tests::serve::http;

const USAGE: &str = "ocsp_fetch --addr 127.0.0.1:PORT --sample sample.tsv --out DIR";

fn main() {
    let o = Opts::from_args(USAGE);
    let addr: SocketAddr = o.required("addr").parse().expect("--addr HOST:PORT");
    let sample = std::fs::read_to_string(o.required("sample")).expect("sample file");
    let out = PathBuf::from(o.required("out"));
    let dir = out.join("static").join("r");
    std::fs::create_dir_all(&dir).expect("static directory");
    let mut paths =
        std::io::BufWriter::new(std::fs::File::create(out.join("nginx-paths.txt")).unwrap());
    let start = Instant::now();
    let (mut n, mut bytes) = (0usize, 0usize);
    for line in sample.lines().filter(|l| !l.is_empty()) {
        let (serial, path) = line.split_once('\t').expect("SERIAL<TAB>PATH");
        let r = http(addr, "GET", path, &[], b"");
        assert_eq!(
            r.status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(
            r.header("content-type"),
            Some("application/ocsp-response"),
            "GET {path}"
        );
        let parsed = OcspResponse::from_der(&r.body).expect("a DER OCSPResponse");
        assert_eq!(
            parsed.response_status,
            OcspResponseStatus::Successful,
            "GET {path}"
        );
        std::fs::write(dir.join(serial), &r.body).expect("write response");
        writeln!(paths, "/r/{serial}").expect("write nginx-paths.txt");
        n += 1;
        bytes += r.body.len();
    }
    paths.flush().expect("write nginx-paths.txt");
    assert!(n > 0, "the sample is empty");
    println!(
        "fetched {n} responses ({} bytes on average) in {:.1} s",
        bytes / n,
        start.elapsed().as_secs_f64()
    );
}
