//! `hsmca issue --batch`: every request of a directory through the issuing pipeline. Good
//! requests are issued, recorded and pass `openssl verify`; a bad one among them gets its
//! own error and leaves no record; a batch that cannot be carried out as asked is refused
//! before anything is issued.

use std::collections::HashSet;
use std::path::Path;

use hsmca_tests::cli::Hsmca;
use hsmca_tests::{openssl, pki};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ca-core/tests/fixtures/csr");

fn leaf_serials(h: &Hsmca) -> HashSet<String> {
    let list = h.run(&["cert", "list", "--ca", "issuing", "--json"]).json();
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["serial"].as_str().unwrap().to_lowercase())
        .collect()
}

fn batch_args<'a>(dir: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "issue",
        "--ca",
        "issuing",
        "--profile",
        "tls-server",
        "--batch",
        dir,
        "--out-dir",
        out,
        "--signers",
        "3",
    ]
}

/// Empty request and output directories beside the data directory of `h`.
fn dirs(h: &Hsmca) -> (std::path::PathBuf, std::path::PathBuf) {
    let (reqs, out) = (h.path("reqs"), h.path("out"));
    std::fs::create_dir_all(&reqs).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    (reqs, out)
}

#[test]
fn a_batch_issues_every_good_request_and_refuses_each_bad_one_alone() {
    let h = pki::initialised();
    let (reqs, out) = dirs(&h);
    // Request files named for their host: `host00.example.com.csr` → `….example.com.pem`.
    let names: Vec<String> = (0..12).map(|i| format!("host{i:02}.example.com")).collect();
    for name in &names {
        pki::csr(
            &reqs,
            name,
            "p256",
            &format!("/CN={name}"),
            &[&format!("subjectAltName=DNS:{name}")],
        );
        // The private key stays out of the batch directory (not a request file anyway).
        std::fs::remove_file(reqs.join(format!("{name}.key"))).unwrap();
    }
    // Two defective requests among them, and a file that is not a request.
    for bad in ["rsa_1024.der.csr", "bad_signature.pem.csr"] {
        std::fs::copy(Path::new(FIXTURES).join(bad), reqs.join(bad)).unwrap();
    }
    std::fs::write(reqs.join("README.txt"), "not a request").unwrap();

    let run = h.run(&batch_args(reqs.to_str().unwrap(), out.to_str().unwrap()));
    assert_eq!(run.code, 2, "bad requests make the exit status 2: {run:?}");
    assert!(run.stderr.contains("rsa_1024.der.csr:"), "{}", run.stderr);
    assert!(
        run.stderr.contains("bad_signature.pem.csr:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("issued 12 of 14 certificates"),
        "{}",
        run.stderr
    );

    // Standard output maps each good request to its serial; each certificate file holds
    // that serial, verifies against the chain, and names its own host.
    let lines: Vec<(&str, &str)> = run
        .stdout
        .lines()
        .map(|l| l.split_once(' ').unwrap())
        .collect();
    assert_eq!(lines.len(), 12);
    let mut printed = HashSet::new();
    for (file, serial) in &lines {
        let name = file.trim_end_matches(".csr");
        let pem = out.join(format!("{name}.pem"));
        pki::verify_chain(&h, &pem);
        let text = openssl::x509_text(&pem);
        assert!(text.contains(&format!("DNS:{name}")), "{text}");
        let got = openssl::ok(&["x509", "-noout", "-serial", "-in", pem.to_str().unwrap()]);
        assert_eq!(
            got.trim().trim_start_matches("serial=").to_lowercase(),
            serial.to_lowercase()
        );
        printed.insert(serial.to_lowercase());
    }
    assert_eq!(printed.len(), 12, "serials are unique");
    // Exactly the twelve are recorded, all issued: the bad requests left nothing.
    assert_eq!(leaf_serials(&h), printed);
    let pending = h
        .run(&["cert", "list", "--status", "pending", "--json"])
        .json();
    assert_eq!(pending.as_array().unwrap().len(), 0);
    assert!(!out.join("rsa_1024.der.pem").exists());
    assert!(!out.join("bad_signature.pem.pem").exists());
    // The twelve certificates and nothing else (no temporary files left).
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 12);
}

#[test]
fn a_batch_that_cannot_be_carried_out_as_asked_is_refused_before_anything_is_issued() {
    let h = pki::initialised();
    let (reqs, out) = dirs(&h);
    let (r, o) = (reqs.to_str().unwrap(), out.to_str().unwrap());

    // No request files at all.
    h.run(&batch_args(r, o)).refused("no CSR files");

    // Two requests that would write the same certificate file.
    let good = Path::new(FIXTURES).join("good_p256.pem.csr");
    std::fs::copy(&good, reqs.join("a.csr")).unwrap();
    std::fs::copy(&good, reqs.join("a.pem")).unwrap();
    h.run(&batch_args(r, o)).refused("would both be written to");
    std::fs::remove_file(reqs.join("a.pem")).unwrap();

    // A certificate file that exists already is not overwritten.
    std::fs::copy(&good, reqs.join("b.csr")).unwrap();
    std::fs::write(out.join("b.pem"), "keep me").unwrap();
    h.run(&batch_args(r, o)).refused("exists already");
    assert_eq!(
        std::fs::read_to_string(out.join("b.pem")).unwrap(),
        "keep me"
    );

    // An output directory that does not exist.
    std::fs::remove_file(out.join("b.pem")).unwrap();
    let missing = h.path("missing");
    h.run(&batch_args(r, missing.to_str().unwrap()))
        .refused("is not a directory");

    // Options that only make sense for one request.
    let mut args = batch_args(r, o);
    args.extend(["--san", "dns:x.example.com"]);
    let run = h.run(&args);
    assert_eq!(run.code, 2, "{run:?}");

    assert!(leaf_serials(&h).is_empty(), "nothing was issued");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);

    // The same directory, put right, issues both.
    let run = h.run(&batch_args(r, o)).ok();
    assert_eq!(run.stdout.lines().count(), 2);
    pki::verify_chain(&h, &out.join("a.pem"));
    pki::verify_chain(&h, &out.join("b.pem"));
    assert_eq!(leaf_serials(&h).len(), 2);
}
