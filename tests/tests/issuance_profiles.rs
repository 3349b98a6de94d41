//! `hsmca issue` under each shipped profile: the certificate verifies against the chain
//! with `openssl verify -x509_strict`, and carries exactly the extensions its profile
//! promises, as OpenSSL (an independent parser) reads them.

use hsmca_tests::cli::Hsmca;
use hsmca_tests::{openssl, pki};

fn issue(
    h: &Hsmca,
    name: &str,
    ca: &str,
    profile: &str,
    csr: &std::path::Path,
    extra: &[&str],
) -> std::path::PathBuf {
    let out = h.path(&format!("{name}.pem"));
    let chain = h.path(&format!("{name}.chain.pem"));
    let mut args = vec![
        "issue",
        "--ca",
        ca,
        "--profile",
        profile,
        "--csr",
        csr.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--chain",
        chain.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    h.run(&args).ok();
    let verified = openssl::ok(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        h.path("root.pem").to_str().unwrap(),
        "-untrusted",
        chain.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert!(verified.contains(": OK"), "{verified}");
    out
}

fn names(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn tls_server_ec_carries_exactly_its_extensions() {
    let h = pki::initialised();
    let csr = pki::csr(
        &h.path(""),
        "web",
        "p256",
        "/CN=www.example.com",
        &["subjectAltName=DNS:www.example.com,DNS:example.com"],
    );
    let cert = issue(&h, "web", "issuing", "tls-server", &csr, &[]);
    assert_eq!(
        pki::extension_names(&cert),
        names(&[
            "X509v3 Key Usage: critical",
            "X509v3 Extended Key Usage",
            "X509v3 Subject Alternative Name",
            "X509v3 Certificate Policies",
            "X509v3 CRL Distribution Points",
            "Authority Information Access",
            "X509v3 Authority Key Identifier",
        ])
    );
    let text = openssl::x509_text(&cert);
    assert!(
        text.contains("X509v3 Key Usage: critical\n                Digital Signature\n"),
        "EC keys get no keyEncipherment: {text}"
    );
    assert!(text.contains("TLS Web Server Authentication\n"), "{text}");
    assert!(
        text.contains("DNS:www.example.com, DNS:example.com"),
        "{text}"
    );
    assert!(text.contains("Policy: 2.23.140.1.2.1"), "{text}");
    assert!(
        text.contains("URI:http://pki.example.com/crl/issuing/"),
        "{text}"
    );
    assert!(
        text.contains("OCSP - URI:http://ocsp.example.com/"),
        "{text}"
    );
    // Default validity: 90 days, both ends inclusive (90 × 86400 − 1 seconds).
    assert!(
        expires_within(&cert, 90 * 86_400),
        "default validity is 90 days"
    );
    assert!(!expires_within(&cert, 89 * 86_400), "and not shorter");
}

/// `openssl x509 -checkend N` exits 1 when the certificate expires within N seconds.
fn expires_within(cert: &std::path::Path, secs: u64) -> bool {
    let s = secs.to_string();
    !openssl::run(&[
        "x509",
        "-in",
        cert.to_str().unwrap(),
        "-noout",
        "-checkend",
        &s,
    ])
    .status
    .success()
}

#[test]
fn tls_server_rsa_gets_key_encipherment_and_a_128_bit_serial() {
    let h = pki::initialised();
    let csr = pki::csr(
        &h.path(""),
        "rsa",
        "rsa2048",
        "/CN=rsa.example.com",
        &["subjectAltName=DNS:rsa.example.com"],
    );
    let cert = issue(&h, "rsa", "issuing", "tls-server", &csr, &[]);
    let text = openssl::x509_text(&cert);
    assert!(
        text.contains("Digital Signature, Key Encipherment"),
        "{text}"
    );
    let serial = openssl::ok(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-serial"]);
    let hex = serial.trim().trim_start_matches("serial=");
    // 16 random octets: 32 hex digits, fewer only when it starts with zero octets (1 in
    // 256 per octet); never over 16 octets, never under the BR's 64 bits in practice.
    assert!(
        hex.len() <= 32 && hex.len() >= 16 && hex.len().is_multiple_of(2),
        "128-bit serial expected, got {hex}"
    );
}

#[test]
fn tls_client_code_signing_ocsp_and_time_stamping_profiles_carry_their_extensions() {
    let h = pki::initialised();
    let dir = h.path("");

    let c = pki::csr(
        &dir,
        "client",
        "p256",
        "/CN=alice/O=Example",
        &["subjectAltName=email:alice@example.com"],
    );
    let cert = issue(&h, "client", "issuing", "tls-client", &c, &[]);
    assert_eq!(
        pki::extension_names(&cert),
        names(&[
            "X509v3 Key Usage: critical",
            "X509v3 Extended Key Usage",
            "X509v3 Subject Alternative Name",
            "X509v3 Subject Key Identifier",
            "X509v3 CRL Distribution Points",
            "Authority Information Access",
            "X509v3 Authority Key Identifier",
        ])
    );
    assert!(openssl::x509_text(&cert).contains("TLS Web Client Authentication"));

    let c = pki::csr(
        &dir,
        "code",
        "rsa3072",
        "/C=US/O=Example Corp/CN=Example Corp",
        &[],
    );
    let cert = issue(&h, "code", "issuing", "code-signing", &c, &[]);
    assert_eq!(
        pki::extension_names(&cert),
        names(&[
            "X509v3 Key Usage: critical",
            "X509v3 Extended Key Usage",
            "X509v3 Certificate Policies",
            "X509v3 Subject Key Identifier",
            "X509v3 CRL Distribution Points",
            "Authority Information Access",
            "X509v3 Authority Key Identifier",
        ])
    );
    let text = openssl::x509_text(&cert);
    assert!(
        text.contains("Code Signing") && text.contains("Policy: 2.23.140.1.4.1"),
        "{text}"
    );

    let c = pki::csr(&dir, "ocsp", "p256", "/CN=hsmca OCSP responder", &[]);
    let cert = issue(&h, "ocsp", "issuing", "ocsp-signing", &c, &[]);
    assert_eq!(
        pki::extension_names(&cert),
        names(&[
            "X509v3 Key Usage: critical",
            "X509v3 Extended Key Usage",
            "OCSP No Check",
            "X509v3 Subject Key Identifier",
            "X509v3 Authority Key Identifier",
        ])
    );
    assert!(openssl::x509_text(&cert).contains("OCSP Signing"));

    let c = pki::csr(&dir, "tsa", "p384", "/CN=hsmca TSA/O=Example", &[]);
    let cert = issue(&h, "tsa", "issuing", "time-stamping", &c, &[]);
    assert_eq!(
        pki::extension_names(&cert),
        names(&[
            "X509v3 Key Usage: critical",
            "X509v3 Extended Key Usage: critical",
            "X509v3 Subject Key Identifier",
            "X509v3 CRL Distribution Points",
            "Authority Information Access",
            "X509v3 Authority Key Identifier",
        ])
    );
    assert!(openssl::x509_text(&cert).contains("Time Stamping"));
}

#[test]
fn sub_ca_profile_from_the_root_makes_a_working_intermediate() {
    let h = pki::initialised();
    let c = pki::csr(
        &h.path(""),
        "sub",
        "p384",
        "/C=US/O=Example/CN=Example Sub CA 2",
        &["basicConstraints=critical,CA:TRUE,pathlen:5"],
    );
    let cert = issue(&h, "sub", "root", "sub-ca", &c, &[]);
    assert_eq!(
        pki::extension_names(&cert),
        names(&[
            "X509v3 Basic Constraints: critical",
            "X509v3 Key Usage: critical",
            "X509v3 Subject Key Identifier",
            "X509v3 Authority Key Identifier",
            "X509v3 CRL Distribution Points",
            "Authority Information Access",
        ])
    );
    let text = openssl::x509_text(&cert);
    assert!(
        text.contains("CA:TRUE, pathlen:0"),
        "the profile, not the CSR, decides pathlen: {text}"
    );
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    assert!(
        text.contains("URI:http://pki.example.com/crl/root.crl"),
        "root's URLs: {text}"
    );

    // The issuing CA has pathlen 0 and cannot issue a sub-CA.
    let r = h.run(&[
        "issue",
        "--ca",
        "issuing",
        "--profile",
        "sub-ca",
        "--csr",
        c.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("pathLenConstraint 0"), "{}", r.stderr);
}

#[test]
fn tls_server_certificates_pass_pkilint_as_dv_final_certificates() {
    let h = pki::initialised();
    let (cn, san) = (
        "/CN=shop.example.com",
        "subjectAltName=DNS:shop.example.com,DNS:*.shop.example.com",
    );
    // A request whose names differ in case: the CN must still be a byte-for-byte copy of
    // a SAN value (BR 7.1.4.3), which pkilint checks.
    let (mixed_cn, mixed_san) = (
        "/CN=WWW.Shop.Example.COM",
        "subjectAltName=DNS:WWW.Shop.Example.COM",
    );
    for (name, kind, cn, san) in [
        ("dv-ec", "p256", cn, san),
        ("dv-rsa", "rsa2048", cn, san),
        ("dv-p384", "p384", cn, san),
        ("dv-mixed-case", "p256", mixed_cn, mixed_san),
    ] {
        let csr = pki::csr(&h.path(""), name, kind, cn, &[san]);
        let cert = issue(&h, name, "issuing", "tls-server", &csr, &[]);
        if name == "dv-mixed-case" {
            let subject =
                openssl::ok(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-subject"]);
            assert!(subject.contains("CN = www.shop.example.com"), "{subject}");
        }
        let out = std::process::Command::new("lint_cabf_serverauth_cert")
            .args([
                "lint",
                "-t",
                "DV-FINAL-CERTIFICATE",
                "-s",
                "ERROR",
                "-f",
                "JSON",
                cert.to_str().unwrap(),
            ])
            .output()
            .expect("pkilint is installed by scripts/install-deps.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let findings: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
        let errors: Vec<_> = findings
            .as_array()
            .map(|a| {
                a.iter()
                    .flat_map(|r| {
                        r["finding_descriptions"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            out.status.success() && errors.is_empty(),
            "{name}: pkilint reported errors (status {:?}):\n{stdout}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn days_override_and_san_override_are_honoured_within_the_profile() {
    let h = pki::initialised();
    let csr = pki::csr(
        &h.path(""),
        "o",
        "p256",
        "/CN=a.example.com",
        &["subjectAltName=DNS:c.example.com"],
    );
    let out = h.path("o.pem");
    let csr_s = csr.to_str().unwrap();
    h.run(&[
        "issue",
        "--ca",
        "issuing",
        "--profile",
        "tls-server",
        "--csr",
        csr_s,
        "--days",
        "10",
        "--san",
        "a.example.com",
        "--san",
        "ip:192.0.2.7",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    let text = openssl::x509_text(&out);
    assert!(
        text.contains("DNS:a.example.com, IP Address:192.0.2.7"),
        "{text}"
    );
    assert!(
        !text.contains("c.example.com"),
        "the CSR's SANs are replaced: {text}"
    );
    assert!(
        expires_within(&out, 10 * 86_400),
        "10 days means it expires within 10 days"
    );
    assert!(!expires_within(&out, 9 * 86_400), "and not much earlier");

    // A CN that is not among the SANs is refused (BR §7.1.4.3), and nothing is stored.
    let before = h.run(&["cert", "list", "--json"]).ok().stdout;
    let r = h.run(&[
        "issue",
        "--ca",
        "issuing",
        "--profile",
        "tls-server",
        "--csr",
        csr_s,
        "--san",
        "b.example.com",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("CN \"a.example.com\" is not one of the subject alternative names"),
        "{}",
        r.stderr
    );
    assert_eq!(h.run(&["cert", "list", "--json"]).ok().stdout, before);
}

#[test]
fn an_ed25519_key_is_issued_end_to_end_where_the_profile_allows_it() {
    let h = pki::initialised();
    let c = pki::csr(
        &h.path(""),
        "ed",
        "ed25519",
        "/CN=device-7",
        &["subjectAltName=DNS:device-7.example.com"],
    );
    // `issue` checks the chain with `openssl verify -x509_strict`.
    let cert = issue(&h, "ed", "issuing", "tls-client", &c, &[]);
    let text = openssl::x509_text(&cert);
    assert!(text.contains("Public Key Algorithm: ED25519"), "{text}");
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
}

#[test]
fn a_sub_ca_profile_with_name_constraints_writes_them_critical() {
    let h = pki::initialised();
    let constrained = profiles::BUILTIN
        .iter()
        .find(|(n, _)| *n == "sub-ca")
        .unwrap()
        .1
        .replace("name = \"sub-ca\"", "name = \"sub-ca-example\"")
        .replace("permitted_dns = []", "permitted_dns = [\"example.com\"]")
        .replace(
            "excluded_dns = []",
            "excluded_dns = [\"secret.example.com\"]",
        );
    let cfg = pki::with_profile(&h, "constrained.toml", &constrained);
    let c = pki::csr(
        &h.path(""),
        "nc",
        "p256",
        "/C=US/O=Example/CN=Example Constrained CA",
        &[],
    );
    let out = h.path("nc.pem");
    pki::issue_with(
        &h,
        cfg.to_str().unwrap(),
        "root",
        "sub-ca-example",
        c.to_str().unwrap(),
        Some(out.to_str().unwrap()),
    )
    .ok();
    pki::verify_chain(&h, &out);
    assert!(pki::extension_names(&out).contains(&"X509v3 Name Constraints: critical".to_string()));
    let text = openssl::x509_text(&out);
    let nc = text
        .split("X509v3 Name Constraints: critical")
        .nth(1)
        .unwrap();
    let permitted = nc.find("Permitted:").expect("permitted subtrees");
    let excluded = nc.find("Excluded:").expect("excluded subtrees");
    assert!(
        nc[permitted..excluded].contains("DNS:example.com"),
        "{text}"
    );
    assert!(nc[excluded..].contains("DNS:secret.example.com"), "{text}");
}
