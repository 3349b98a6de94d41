//! Loading and validating profiles: the shipped set, overrides from a directory, and every
//! kind of invalid profile refused with its field named.

use profiles::{parse, Error, Kind, ProfileSet, Purpose};

#[test]
fn the_six_shipped_profiles_load() {
    let set = ProfileSet::builtin().unwrap();
    assert_eq!(
        set.names(),
        [
            "code-signing",
            "ocsp-signing",
            "sub-ca",
            "time-stamping",
            "tls-client",
            "tls-server"
        ]
    );
    let tls = set.get("tls-server").unwrap();
    assert_eq!(tls.validity.max_days, 200);
    assert_eq!(tls.extended_key_usage, [Purpose::ServerAuth]);
    assert!(tls.san.required);
    assert_eq!(set.get("sub-ca").unwrap().kind, Kind::SubCa);
    assert!(set.get("ocsp-signing").unwrap().ocsp_no_check);
    assert!(
        set.get("time-stamping")
            .unwrap()
            .extended_key_usage_critical
    );
}

fn tls_with(from: &str, to: &str) -> String {
    let text = profiles::BUILTIN[0].1;
    assert!(text.contains(from), "fixture text {from:?} missing");
    text.replacen(from, to, 1)
}

fn field_of(err: Error) -> String {
    match err {
        Error::Invalid { field, .. } => field,
        Error::Parse { reason, .. } => reason,
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn invalid_profiles_are_refused_with_the_field_named() {
    let cases = [
        (
            tls_with("max_days = 200", "max_days = 0"),
            "validity.max_days",
        ),
        (
            tls_with("default_days = 90", "default_days = 201"),
            "validity.default_days",
        ),
        (
            tls_with("rsa_min_bits = 2048", "rsa_min_bits = 1024"),
            "keys.rsa_min_bits",
        ),
        (
            tls_with("rsa_min_bits = 2048", "rsa_min_bits = 2050"),
            "keys.rsa_min_bits",
        ),
        (
            tls_with("rsa_exponents = [65537]", "rsa_exponents = [4]"),
            "keys.rsa_exponents",
        ),
        (
            tls_with(
                "allowed = [\"rsa\", \"ec-p256\", \"ec-p384\"]",
                "allowed = []",
            ),
            "keys.allowed",
        ),
        (
            tls_with(
                "\"keyEncipherment\"]",
                "\"keyEncipherment\", \"keyCertSign\"]",
            ),
            "key_usage",
        ),
        (
            tls_with("[\"2.23.140.1.2.1\"]", "[\"2.23.x\"]"),
            "certificate_policies[0]",
        ),
        (
            tls_with(
                "forbidden_extensions = [\"basicConstraints\"",
                "forbidden_extensions = [\"extendedKeyUsage\"",
            ),
            "forbidden_extensions",
        ),
        (
            tls_with("name = \"tls-server\"", "name = \"TLS Server\""),
            "name",
        ),
        (
            tls_with("cn_must_match_san = true", "required = [\"O\"]"),
            "subject.required",
        ),
        (
            tls_with("[csr_extensions]", "[ca]\npath_len = 0\n[csr_extensions]"),
            "ca",
        ),
        (
            tls_with(
                "kind = \"end-entity\"",
                "kind = \"end-entity\"\nocsp_no_check = true",
            ),
            "ocsp_no_check",
        ),
        (
            tls_with(
                "rsa_exponents = [65537]",
                "rsa_exponents = [65537, 8589934593]",
            ),
            "keys.rsa_exponents",
        ),
        // keyUsage that suits none of the purposes, and a purpose no keyUsage bit serves.
        (
            tls_with(
                "\"keyEncipherment\"]",
                "\"keyEncipherment\", \"nonRepudiation\"]",
            ),
            "extended_key_usage",
        ),
        (
            tls_with(
                "key_usage = [\"digitalSignature\", \"keyEncipherment\"]",
                "key_usage = [\"dataEncipherment\"]",
            ),
            "extended_key_usage",
        ),
        (
            tls_with("allowed = [\"CN\"]", "allowed = [\"O\"]")
                .replace("cn_must_match_san = true", "cn_from_san = true"),
            "subject.cn_from_san",
        ),
        (
            tls_with("allowed = [\"dns\", \"ip\"]", "allowed = [\"email\"]"),
            "san.allowed",
        ),
        (
            tls_with(
                "forbidden_extensions = [\"basicConstraints\"",
                "forbidden_extensions = [\"subjectAltName\", \"basicConstraints\"",
            )
            .replace("\"subjectAltName\", \"keyUsage\"", "\"keyUsage\""),
            "san.allowed",
        ),
        (tls_with("max = 100", "max = 100\nmaxx = 1"), "maxx"),
        (tls_with("kind = \"end-entity\"", "kind = \"leaf\""), "kind"),
    ];
    for (text, field) in cases {
        let err = parse("test", &text).expect_err(field);
        let got = field_of(err.clone());
        assert!(
            got.contains(field),
            "expected field {field}, got {got} ({err})"
        );
    }
}

#[test]
fn a_directory_adds_profiles_and_replaces_shipped_ones_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("short-tls.toml"),
        tls_with("name = \"tls-server\"", "name = \"tls-server\"")
            .replace("max_days = 200", "max_days = 47")
            .replace("default_days = 90", "default_days = 47"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("internal.toml"),
        tls_with("name = \"tls-server\"", "name = \"internal-tls\""),
    )
    .unwrap();
    let set = ProfileSet::with_dir(dir.path()).unwrap();
    assert_eq!(set.get("tls-server").unwrap().validity.max_days, 47);
    assert!(set.get("internal-tls").is_some());
    assert_eq!(set.names().len(), 7);
}

#[test]
fn two_files_with_one_profile_name_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["a.toml", "b.toml"] {
        std::fs::write(
            dir.path().join(f),
            tls_with("name = \"tls-server\"", "name = \"same\""),
        )
        .unwrap();
    }
    assert!(matches!(ProfileSet::with_dir(dir.path()), Err(Error::Duplicate(n)) if n == "same"));
}

#[test]
fn an_invalid_file_in_the_directory_names_its_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.toml"), "name = \"x\"\n").unwrap();
    let err = ProfileSet::with_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("broken.toml"), "{err}");
}

#[test]
fn key_usage_must_suit_the_extended_key_usage_purposes() {
    use profiles::{key_usage_mismatch, KeyUsageBit as K, Purpose as P};
    // Consistent (RFC 5280 §4.2.1.12).
    assert_eq!(
        key_usage_mismatch(&[K::DigitalSignature], &[P::ServerAuth]),
        None
    );
    assert_eq!(
        key_usage_mismatch(&[K::DigitalSignature, K::KeyEncipherment], &[P::ServerAuth]),
        None
    );
    assert_eq!(
        key_usage_mismatch(&[K::NonRepudiation], &[P::TimeStamping]),
        None
    );
    assert_eq!(
        key_usage_mismatch(
            &[K::DigitalSignature, K::KeyEncipherment],
            &[P::ClientAuth, P::EmailProtection]
        ),
        None
    );
    // No purposes: nothing to compare with.
    assert_eq!(key_usage_mismatch(&[K::DataEncipherment], &[]), None);
    // A bit no purpose uses, and a purpose none of the bits serves.
    let extra = key_usage_mismatch(&[K::DigitalSignature, K::KeyEncipherment], &[P::ClientAuth]);
    assert!(extra.is_some_and(|w| w.contains("KeyEncipherment")));
    let unserved = key_usage_mismatch(&[K::DataEncipherment], &[P::OcspSigning]);
    assert!(unserved.is_some_and(|w| w.contains("OcspSigning")));
    let code = key_usage_mismatch(&[K::KeyAgreement], &[P::CodeSigning]);
    assert!(code.is_some());
}
