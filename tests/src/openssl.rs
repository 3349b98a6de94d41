//! Running the `openssl` command line tool as the independent judge of what hsmca produces.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `openssl ARGS`, returning its output (never panics on a non-zero exit).
pub fn run(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (scripts/install-deps.sh)")
}

/// Runs `openssl ARGS` and returns stdout+stderr, panicking with both when it fails.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openssl {args:?} failed:\n{text}");
    text
}

/// `openssl x509 -text -noout` of a PEM file.
pub fn x509_text(pem: &Path) -> String {
    ok(&["x509", "-in", pem.to_str().unwrap(), "-noout", "-text"])
}
