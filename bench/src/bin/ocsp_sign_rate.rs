//! The raw SoftHSM2 signing rate of a CA's delegated OCSP responder key, the yardstick of
//! on-demand (nonce) signing in the OCSP benchmark (`bench/ocsp/run.sh`, issue 4).
//!
//! ```text
//! ocsp_sign_rate --data-dir DATA [--seconds 5] [--ca issuing] [--bytes 256]
//! ```
//!
//! It opens the data directory's token in this process (as `hsmca_tests::inproc` does), reads
//! the CA's newest delegated responder from the store (table `ocsp_signers`; `hsmca serve`
//! creates it), and signs a `--bytes`-long message (about the size of a one-certificate
//! `ResponseData` with a nonce) with that key through
//! `hsm_backend::Token::signer(..).sign(..)` with the CA's signature scheme (ECDSA P-256
//! SHA-256 for the default ceremony): nothing but hashing and the PKCS#11 `C_Sign` through
//! the session pool, for `--seconds` with 1 and then 2 threads. Prints one line per run:
//! `sign_rate THREADS PER_SECOND`.

use std::path::PathBuf;
use std::time::Duration;

use ca_core::store::{CaStore, OcspStore};
use hsm_backend::{SignatureScheme, Signer};
use hsmca_bench::{rate, Opts};
use hsmca_tests::inproc;

const USAGE: &str = "ocsp_sign_rate --data-dir DATA [--seconds 5] [--ca issuing] [--bytes 256]";

fn main() {
    let o = Opts::from_args(USAGE);
    let data = PathBuf::from(o.required("data-dir"));
    let seconds: f64 = o.number("seconds", 5.0);
    let ca_name = o.get("ca").unwrap_or("issuing").to_string();
    let bytes: usize = o.number("bytes", 256);

    let token = inproc::open_token(&data);
    let db = data.join("hsmca.db");
    let store = ca_store::Store::open(db.to_str().expect("UTF-8 path"), 2).expect("open store");
    let ca = store
        .ca(&ca_name)
        .expect("read CA")
        .unwrap_or_else(|| panic!("no CA {ca_name:?}"));
    let responder = store
        .ocsp_signer(&ca_name)
        .expect("read OCSP signer")
        .unwrap_or_else(|| {
            panic!("CA {ca_name:?} has no delegated responder yet (run hsmca serve once)")
        });
    let scheme = SignatureScheme::parse(&ca.signature).expect("signature scheme");
    let key = token.find_key(&responder.key_label).expect("responder key");
    let signer = token.signer(&key, scheme).expect("signer");
    eprintln!(
        "ocsp_sign_rate: key {} ({}), scheme {scheme}, {bytes}-byte message",
        responder.key_label, key.spec
    );
    let msg = vec![0x5au8; bytes];
    let dur = Duration::from_secs_f64(seconds);
    for threads in [1, 2] {
        let r = rate(threads, dur, || {
            signer.sign(&msg).expect("sign");
        });
        println!("sign_rate {threads} {r:.0}");
    }
}
