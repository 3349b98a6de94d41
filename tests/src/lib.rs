//! Support for the workspace integration tests: a private SoftHSM2 token directory per test
//! process, fresh tokens per test, the `hsmca` binary, OpenSSL and PostgreSQL helpers.
#![forbid(unsafe_code)]

pub mod bulk;
pub mod cli;
pub mod fault;
pub mod inproc;
pub mod openssl;
pub mod pki;
pub mod postgres;
pub mod serve;
pub mod softhsm;

use std::path::PathBuf;

/// Path of the `hsmca` binary built by this `cargo test` run (`target/<profile>/hsmca`),
/// or `HSMCA_BIN` when set.
pub fn hsmca_bin() -> PathBuf {
    if let Ok(p) = std::env::var("HSMCA_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current test executable");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("test executable lives in target/<profile>/deps");
    let bin = profile_dir.join("hsmca");
    assert!(
        bin.exists(),
        "{} is missing: the hsmca binary is built by `cargo test --workspace` (scripts/test.sh)",
        bin.display()
    );
    bin
}

/// A short random hex string for unique names.
pub fn random_suffix() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).expect("OS random source");
    hex::encode(b)
}
