//! After issuance: listing and showing records, revocation with reasons, and refusals that
//! change nothing.

use hsmca_tests::cli::Hsmca;
use hsmca_tests::{openssl, pki};

/// Issues a tls-server certificate; its serial as openssl prints it (uppercase hex).
fn issue_one(h: &Hsmca, name: &str) -> String {
    pki::issue_tls(h, name).1.to_uppercase()
}

fn show(h: &Hsmca, serial: &str) -> serde_json::Value {
    h.run(&["cert", "show", serial, "--json"]).json()
}

#[test]
fn issued_certificates_are_recorded_and_listed_with_filters() {
    let h = pki::initialised();
    let a = issue_one(&h, "a");
    let b = issue_one(&h, "b");
    let all: serde_json::Value = h.run(&["cert", "list", "--json"]).json();
    // Two CA certificates (root self-signed, issuing) plus two leaves.
    assert_eq!(all.as_array().unwrap().len(), 4);
    let leaves: serde_json::Value = h.run(&["cert", "list", "--ca", "issuing", "--json"]).json();
    let serials: Vec<_> = leaves
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["serial"].as_str().unwrap().to_uppercase())
        .collect();
    assert!(
        serials.contains(&a.trim_start_matches('0').to_string()) || serials.contains(&a),
        "{serials:?} / {a}"
    );
    assert_eq!(serials.len(), 2);

    let rec = show(&h, &a);
    assert_eq!(rec["status"], "issued");
    assert_eq!(rec["profile"], "tls-server");
    assert_eq!(rec["sans"], serde_json::json!(["dns:a.example.com"]));
    // The stored DER is what was handed out.
    let pem = h.run(&["cert", "show", &a, "--pem"]).ok().stdout;
    assert_eq!(pem, std::fs::read_to_string(h.path("a.pem")).unwrap());
    // The recorded TBS hash is the hash of the certificate's TBS.
    let tbs = openssl::ok(&[
        "asn1parse",
        "-in",
        h.path("a.pem").to_str().unwrap(),
        "-strparse",
        "4",
        "-noout",
        "-out",
        h.path("a.tbs").to_str().unwrap(),
    ]);
    let _ = tbs;
    let digest = openssl::ok(&["dgst", "-sha256", "-r", h.path("a.tbs").to_str().unwrap()]);
    assert!(
        digest.starts_with(rec["tbs_sha256"].as_str().unwrap()),
        "{digest} vs {rec}"
    );

    let expiring: serde_json::Value = h
        .run(&["cert", "list", "--expiring-within", "100", "--json"])
        .json();
    assert_eq!(
        expiring.as_array().unwrap().len(),
        2,
        "the 90-day leaves, not the CAs"
    );
    let none: serde_json::Value = h
        .run(&["cert", "list", "--expiring-within", "30", "--json"])
        .json();
    assert!(none.as_array().unwrap().is_empty());
    // An unknown CA is refused, not listed as empty.
    let r = h.run(&["cert", "list", "--ca", "nosuch", "--json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no CA named \"nosuch\""), "{}", r.stderr);
    let _ = b;
}

#[test]
fn revoke_records_reason_and_time_and_refuses_a_second_time() {
    let h = pki::initialised();
    let s = issue_one(&h, "rev");
    h.run(&[
        "revoke",
        &s,
        "--reason",
        "keyCompromise",
        "--invalidity-date",
        "2026-01-02T03:04:05Z",
    ])
    .ok();
    let rec = show(&h, &s);
    assert_eq!(rec["status"], "revoked");
    assert_eq!(rec["revocation"]["reason"], "keyCompromise");
    assert_eq!(rec["revocation"]["reason_code"], 1);
    assert_eq!(rec["revocation"]["invalidity_date"], "2026-01-02T03:04:05Z");

    let again = h.run(&["revoke", &s, "--reason", "superseded"]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already revoked"), "{}", again.stderr);
    assert_eq!(
        show(&h, &s)["revocation"]["reason"],
        "keyCompromise",
        "unchanged"
    );

    let revoked: serde_json::Value = h
        .run(&["cert", "list", "--status", "revoked", "--json"])
        .json();
    assert_eq!(revoked.as_array().unwrap().len(), 1);
}

#[test]
fn bad_revocations_are_refused_and_change_nothing() {
    let h = pki::initialised();
    let s = issue_one(&h, "keep");
    for (args, msg) in [
        (
            vec!["revoke", s.as_str(), "--reason", "because"],
            "is not one of",
        ),
        (
            vec!["revoke", s.as_str(), "--reason", "removeFromCRL"],
            "delta CRLs",
        ),
        (
            vec!["revoke", s.as_str(), "--reason", "certificateHold"],
            "certificateHold is disabled",
        ),
        (
            vec![
                "revoke",
                s.as_str(),
                "--reason",
                "keyCompromise",
                "--invalidity-date",
                "yesterday",
            ],
            "RFC 3339",
        ),
        (
            vec![
                "revoke",
                s.as_str(),
                "--reason",
                "keyCompromise",
                "--invalidity-date",
                "2999-01-01T00:00:00Z",
            ],
            "in the future",
        ),
        (
            vec!["revoke", "00ff00ff", "--reason", "keyCompromise"],
            "no certificate with serial",
        ),
        (
            vec!["revoke", "not-hex", "--reason", "keyCompromise"],
            "not hexadecimal",
        ),
    ] {
        h.run(&args).refused(msg);
    }
    assert_eq!(show(&h, &s)["status"], "issued");
}

#[test]
fn issuance_refusals_allocate_no_serial_and_store_nothing() {
    let h = pki::initialised();
    let dir = h.path("");
    let before = h.run(&["cert", "list", "--json"]).ok().stdout;
    let good = pki::csr(
        &dir,
        "g",
        "p256",
        "/CN=g.example.com",
        &["subjectAltName=DNS:g.example.com"],
    );
    let g = good.to_str().unwrap();
    let email = pki::csr(
        &dir,
        "e",
        "p256",
        "/CN=e.example.com",
        &["subjectAltName=DNS:e.example.com,email:a@example.com"],
    );
    let ou = pki::csr(
        &dir,
        "ou",
        "p256",
        "/CN=ou.example.com/OU=Sales",
        &["subjectAltName=DNS:ou.example.com"],
    );
    let nosan = pki::csr(&dir, "nosan", "p256", "/CN=nosan.example.com", &[]);
    let ed = pki::csr(
        &dir,
        "ed",
        "ed25519",
        "/CN=ed.example.com",
        &["subjectAltName=DNS:ed.example.com"],
    );
    std::fs::write(h.path("empty.csr"), b"").unwrap();
    let mut big = std::fs::read(&good).unwrap();
    big.resize(1 << 20, b'A');
    std::fs::write(h.path("big.csr"), big).unwrap();
    let mut garbage = std::fs::read(&good).unwrap();
    garbage.extend_from_slice(b"trailing garbage");
    std::fs::write(h.path("garbage.csr"), garbage).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--profile".into(),
                "tls-server".into(),
                "--csr".into(),
                email.display().to_string(),
            ],
            "Email names are not allowed",
        ),
        (
            vec![
                "--profile".into(),
                "tls-server".into(),
                "--csr".into(),
                ou.display().to_string(),
            ],
            "attribute OU is not allowed",
        ),
        (
            vec![
                "--profile".into(),
                "tls-server".into(),
                "--csr".into(),
                nosan.display().to_string(),
            ],
            "requires at least one subject alternative name",
        ),
        (
            vec![
                "--profile".into(),
                "tls-server".into(),
                "--csr".into(),
                ed.display().to_string(),
            ],
            "Ed25519",
        ),
        (
            vec![
                "--profile".into(),
                "tls-server".into(),
                "--csr".into(),
                g.into(),
                "--days".into(),
                "201".into(),
            ],
            "201 days is outside",
        ),
        (
            vec![
                "--profile".into(),
                "no-such-profile".into(),
                "--csr".into(),
                g.into(),
            ],
            "no profile named",
        ),
        (
            vec![
                "--profile".into(),
                "tls-server".into(),
                "--csr".into(),
                g.into(),
                "--san".into(),
                "ip:not-an-ip".into(),
            ],
            "not an IP address",
        ),
        (
            vec![
                "--profile".into(),
                "tls-server".into(),
                "--csr".into(),
                g.into(),
                "--san".into(),
                "bad_name.example.com".into(),
            ],
            "letter-digit-hyphen",
        ),
        (
            vec![
                "--profile".into(),
                "tls-server".into(),
                "--csr".into(),
                h.path("empty.csr").display().to_string(),
            ],
            "empty",
        ),
        (
            vec![
                "--profile".into(),
                "tls-server".into(),
                "--csr".into(),
                h.path("big.csr").display().to_string(),
            ],
            "limit",
        ),
        (
            vec![
                "--profile".into(),
                "tls-server".into(),
                "--csr".into(),
                h.path("garbage.csr").display().to_string(),
            ],
            "after",
        ),
        (
            vec![
                "--profile".into(),
                "tls-server".into(),
                "--csr".into(),
                h.path("missing.csr").display().to_string(),
            ],
            "cannot read CSR",
        ),
    ];
    for (extra, msg) in cases {
        let mut args: Vec<String> = vec!["issue".into(), "--ca".into(), "issuing".into()];
        args.extend(extra.clone());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        h.run(&refs).refused(msg);
    }
    let r = h.run(&[
        "issue",
        "--ca",
        "nope",
        "--profile",
        "tls-server",
        "--csr",
        g,
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("no CA named \"nope\" (known: root, issuing)")
            || r.stderr.contains("no CA named \"nope\""),
        "{}",
        r.stderr
    );
    assert_eq!(
        h.run(&["cert", "list", "--json"]).ok().stdout,
        before,
        "nothing was stored"
    );
    let audit_unchanged = h
        .run(&["cert", "list", "--status", "pending", "--json"])
        .ok()
        .stdout;
    assert_eq!(audit_unchanged.trim(), "[]");
}

#[test]
fn a_profile_that_refuses_requested_extensions_refuses_a_ca_true_request() {
    let h = pki::initialised();
    let strict = profiles::BUILTIN[0]
        .1
        .replace("name = \"tls-server\"", "name = \"strict-tls\"")
        .replace("forbidden = \"drop\"", "forbidden = \"refuse\"");
    let cfg = pki::with_profile(&h, "strict.toml", &strict);
    let csr = pki::csr(
        &h.path(""),
        "ca",
        "p256",
        "/CN=x.example.com",
        &[
            "subjectAltName=DNS:x.example.com",
            "basicConstraints=critical,CA:TRUE",
        ],
    );
    let c = csr.to_str().unwrap();
    let r = pki::issue_with(&h, cfg.to_str().unwrap(), "issuing", "strict-tls", c, None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("basicConstraints"), "{}", r.stderr);
    // The shipped profile drops it instead: the certificate has no basicConstraints.
    let out = h.path("x.pem");
    let ok = pki::issue_with(
        &h,
        cfg.to_str().unwrap(),
        "issuing",
        "tls-server",
        c,
        Some(out.to_str().unwrap()),
    )
    .ok();
    assert!(ok.stderr.contains("does not carry it"), "{}", ok.stderr);
    assert!(!openssl::x509_text(&out).contains("Basic Constraints"));
}

/// Every certificate record, pending ones included, to compare before and after a refusal.
fn records(h: &Hsmca, cfg: &str) -> String {
    h.run(&["--config", cfg, "cert", "list", "--json"])
        .ok()
        .stdout
}

#[test]
fn a_failing_lint_refuses_to_sign_and_stores_nothing() {
    // The issuing CA publishes no URLs: tls-server requires authorityInfoAccess and
    // cRLDistributionPoints (BR), so its lint refuses, where the certificate used to go
    // out without them.
    let no_urls = pki::PUBLIC_URL_CEREMONY.replace(
        "[issuing.urls]\ncrl = \"http://pki.example.com/crl/issuing/{shard}.crl\"\n\
         delta_crl = \"http://pki.example.com/crl/issuing/{shard}-delta.crl\"\n\
         crl_shards = 8\nocsp = [\"http://ocsp.example.com/\"]\n\
         ca_issuers = [\"http://pki.example.com/ca/issuing.crt\"]\n",
        "",
    );
    assert!(!no_urls.contains("[issuing.urls]"));
    let h = pki::initialise(Hsmca::new(), &no_urls);
    // A profile that lets a request without SANs through its own rules, yet requires
    // subjectAltName: only the lint stands between such a request and the HSM.
    let loose = profiles::BUILTIN[0]
        .1
        .replace("name = \"tls-server\"", "name = \"loose\"")
        .replace("required = true", "required = false")
        .replace("cn_must_match_san = true", "")
        .replace(", \"authorityInfoAccess\", \"crlDistributionPoints\"", "");
    let cfg = pki::with_profile(&h, "loose.toml", &loose);
    let cfg = cfg.to_str().unwrap();
    let nosan = pki::csr(&h.path(""), "nosan", "p256", "/CN=nosan.example.com", &[]);
    let good = pki::csr(
        &h.path(""),
        "good",
        "p256",
        "/CN=good.example.com",
        &["subjectAltName=DNS:good.example.com"],
    );
    let before = records(&h, cfg);
    for (profile, csr, lint) in [
        ("loose", &nosan, "e_profile_required_extension"),
        ("tls-server", &good, "e_profile_required_extension"),
    ] {
        let r = pki::issue_with(&h, cfg, "issuing", profile, csr.to_str().unwrap(), None);
        assert_eq!(r.code, 2, "{profile}: {}", r.stderr);
        assert!(r.stderr.contains(lint), "{profile}: {}", r.stderr);
        assert_eq!(records(&h, cfg), before, "{profile}: nothing stored");
    }
    // The tls-server refusal names what is missing.
    let r = pki::issue_with(
        &h,
        cfg,
        "issuing",
        "tls-server",
        good.to_str().unwrap(),
        None,
    );
    assert!(r.stderr.contains("AuthorityInfoAccess"), "{}", r.stderr);
}

#[test]
fn cn_from_san_backdating_and_tolerated_extensions_work_as_the_profile_says() {
    let h = pki::initialised();
    let custom = profiles::BUILTIN[0]
        .1
        .replace("name = \"tls-server\"", "name = \"custom-tls\"")
        .replace("allowed = [\"CN\"]", "allowed = [\"CN\", \"C\"]")
        .replace(
            "cn_must_match_san = true",
            "cn_must_match_san = true\ncn_from_san = true",
        )
        .replace(
            "default_days = 90",
            "default_days = 90\nbackdate_seconds = 3600",
        )
        .replace(
            "forbidden = \"drop\"",
            "forbidden = \"refuse\"\ntolerated = [\"keyUsage\"]",
        );
    let cfg = pki::with_profile(&h, "custom.toml", &custom);
    // No CN, and a keyUsage extension the profile tolerates (it is not copied: the
    // profile's own keyUsage goes in).
    let csr = pki::csr(
        &h.path(""),
        "auto",
        "p256",
        "/C=US",
        &[
            "subjectAltName=DNS:auto.example.com",
            "keyUsage=critical,keyAgreement",
        ],
    );
    let out = h.path("auto.pem");
    let issued_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    pki::issue_with(
        &h,
        cfg.to_str().unwrap(),
        "issuing",
        "custom-tls",
        csr.to_str().unwrap(),
        Some(out.to_str().unwrap()),
    )
    .ok();
    pki::verify_chain(&h, &out);
    let subject = openssl::ok(&["x509", "-in", out.to_str().unwrap(), "-noout", "-subject"]);
    assert!(subject.contains("CN = auto.example.com"), "{subject}");
    let text = openssl::x509_text(&out);
    assert!(text.contains("Digital Signature"), "{text}");
    assert!(
        !text.contains("Key Agreement"),
        "the CSR's keyUsage is not copied: {text}"
    );
    // notBefore an hour before issuance.
    let start = openssl::ok(&[
        "x509",
        "-in",
        out.to_str().unwrap(),
        "-noout",
        "-startdate",
        "-dateopt",
        "iso_8601",
    ]);
    let start = start.trim().trim_start_matches("notBefore=");
    let not_before = chrono::NaiveDateTime::parse_from_str(start, "%Y-%m-%d %H:%M:%SZ")
        .unwrap_or_else(|e| panic!("{start}: {e}"))
        .and_utc()
        .timestamp();
    let backdated = issued_at - not_before;
    assert!(
        (3590..=3610).contains(&backdated),
        "notBefore {backdated} s before issuance"
    );
    // Without the toleration the same request is refused under `refuse`.
    let strict = h.path("profiles").join("custom.toml");
    let text = std::fs::read_to_string(&strict)
        .unwrap()
        .replace("tolerated = [\"keyUsage\"]", "");
    std::fs::write(&strict, text).unwrap();
    let r = pki::issue_with(
        &h,
        cfg.to_str().unwrap(),
        "issuing",
        "custom-tls",
        csr.to_str().unwrap(),
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("keyUsage"), "{}", r.stderr);
}
