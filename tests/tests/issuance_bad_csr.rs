//! Every defective request in `ca-core/tests/fixtures/csr/` (named for its defect, made by
//! the script beside them) is refused by the real binary with exit status 2 and a one-line
//! reason, and allocates no serial and stores nothing.

use hsmca_tests::pki;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ca-core/tests/fixtures/csr");

#[test]
fn defective_requests_are_refused_with_a_reason_and_change_nothing() {
    let h = pki::initialised();
    let cfg = h.write(
        "cfg.toml",
        &format!("[issuance]\nkey_blocklist = \"{FIXTURES}/blocklist.txt\"\n"),
    );
    let cfg = cfg.to_str().unwrap();
    let before = h.run(&["cert", "list", "--json"]).ok().stdout;
    let cases = [
        ("bad_signature.pem.csr", "signature"),
        ("sha1_signed.pem.csr", "SHA-1"),
        ("ecdsa_sha1_signed.pem.csr", "SHA-1"),
        ("md5_signed.pem.csr", "MD5"),
        ("rsa_1024.der.csr", "1024"),
        ("rsa_2047.pem.csr", "2047"),
        ("rsa_2049.pem.csr", "2049"),
        ("rsa_exponent_1.pem.csr", "exponent"),
        ("rsa_exponent_3.pem.csr", "65537"),
        ("rsa_even_exponent.pem.csr", "exponent"),
        ("p224.pem.csr", "P-224"),
        ("secp256k1.pem.csr", "secp256k1"),
        ("explicit_curve_params.pem.csr", "explicit"),
        ("point_not_on_curve.pem.csr", "curve"),
        ("roca.pem.csr", "ROCA"),
        ("fermat_close_primes.pem.csr", "Fermat"),
        ("small_factor.pem.csr", "factor"),
        ("cn_65_chars.pem.csr", "64"),
        ("trailing_garbage.der.csr", "trailing"),
        ("trailing_garbage.pem.csr", "after the PEM END line"),
        ("ber_indefinite_length.der.csr", "DER"),
        ("ber_nonminimal_length.der.csr", "DER"),
        ("unknown_version.der.csr", "version"),
        ("blocklisted.pem.csr", "blocklist"),
    ];
    for (file, reason) in cases {
        let path = format!("{FIXTURES}/{file}");
        h.run(&[
            "--config",
            cfg,
            "issue",
            "--ca",
            "issuing",
            "--profile",
            "tls-server",
            "--csr",
            &path,
        ])
        .refused(reason);
    }
    assert_eq!(
        h.run(&["cert", "list", "--json"]).ok().stdout,
        before,
        "nothing stored"
    );

    // The good fixtures are accepted under the same configuration (the refusals are not
    // blanket ones).
    for (file, profile) in [
        ("good_p256.pem.csr", "tls-server"),
        ("good_p384.pem.csr", "tls-server"),
        ("good_rsa_pss.pem.csr", "tls-server"),
        // DNS, IP, e-mail and URI SANs with an O and C: a client certificate.
        ("good_rsa_2048.pem.csr", "tls-client"),
    ] {
        let path = format!("{FIXTURES}/{file}");
        let r = h.run(&[
            "--config",
            cfg,
            "issue",
            "--ca",
            "issuing",
            "--profile",
            profile,
            "--csr",
            &path,
        ]);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
    }
}
