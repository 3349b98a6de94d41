//! Cost of CSR intake in a release build: `parse_csr` (with signature verification) and
//! `check_public_key` (size, exponent, small factors, ROCA, Fermat, blocklist) per RSA-2048
//! request, over the fixture CSRs. `cargo bench -p hsmca-bench --bench intake`.

use std::time::Instant;

use ca_core::csr::parse_csr;
use ca_core::keycheck::{check_public_key, Blocklist, KeyPolicy};

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../ca-core/tests/fixtures/csr");
    let policy = KeyPolicy::default();
    let blocklist = Blocklist::empty();
    for file in ["good_rsa_2048.der.csr", "good_p256.pem.csr"] {
        let csr = std::fs::read(format!("{dir}/{file}")).unwrap();
        let parsed = parse_csr(&csr).unwrap();
        let rounds = 2000u32;
        let t = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(parse_csr(&csr).unwrap());
        }
        let parse = t.elapsed() / rounds;
        let t = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(
                check_public_key(parsed.public_key(), &policy, &blocklist).unwrap(),
            );
        }
        let check = t.elapsed() / rounds;
        println!("{file}: parse_csr {parse:?}, check_public_key {check:?} per request");
    }
}
