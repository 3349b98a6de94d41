//! `hsmca init` end to end: the real binary, a SoftHSM2 token in the data directory,
//! SQLite or PostgreSQL, and OpenSSL judging the chain.

use hsmca_tests::cli::{snapshot, Hsmca};
use hsmca_tests::{openssl, postgres};

fn write_chain(h: &Hsmca) -> (String, String) {
    let root = h.run(&["ca", "show", "root", "--pem"]).ok().stdout;
    let sub = h.run(&["ca", "show", "issuing", "--pem"]).ok().stdout;
    std::fs::write(h.path("root.pem"), &root).unwrap();
    std::fs::write(h.path("sub.pem"), &sub).unwrap();
    (root, sub)
}

fn verify_chain(h: &Hsmca) {
    let out = openssl::ok(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        h.path("root.pem").to_str().unwrap(),
        h.path("sub.pem").to_str().unwrap(),
    ]);
    assert!(out.contains("sub.pem: OK"), "{out}");
}

#[test]
fn init_creates_a_chain_that_openssl_verifies_strictly() {
    let h = Hsmca::new();
    let run = h.run(&["init"]).ok();
    // init prints the chain: issuing then root.
    assert_eq!(run.stdout.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    let (root, sub) = write_chain(&h);
    assert!(run.stdout.starts_with(&sub) && run.stdout.ends_with(&root));
    verify_chain(&h);

    // A self-signed root also verifies against itself.
    let p = h.path("root.pem");
    openssl::ok(&[
        "verify",
        "-x509_strict",
        "-check_ss_sig",
        "-CAfile",
        p.to_str().unwrap(),
        p.to_str().unwrap(),
    ]);

    let root_text = openssl::x509_text(&h.path("root.pem"));
    // OpenSSL prints RDNs in DER order; the ceremony file gives them RFC 4514 style.
    assert!(
        root_text.contains("Subject: C = US, O = hsmca Demo, CN = hsmca Demo Root CA"),
        "{root_text}"
    );
    assert!(
        root_text
            .contains("X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:1"),
        "{root_text}"
    );
    assert!(
        root_text
            .contains("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"),
        "{root_text}"
    );
    assert!(
        root_text.contains("X509v3 Subject Key Identifier"),
        "{root_text}"
    );
    assert!(root_text.contains("ecdsa-with-SHA384"), "{root_text}");

    let sub_text = openssl::x509_text(&h.path("sub.pem"));
    assert!(
        sub_text.contains("Issuer: C = US, O = hsmca Demo, CN = hsmca Demo Root CA"),
        "{sub_text}"
    );
    assert!(sub_text.contains("CA:TRUE, pathlen:0"), "{sub_text}");
    assert!(
        sub_text.contains("X509v3 Authority Key Identifier"),
        "{sub_text}"
    );
    assert!(
        sub_text.contains("URI:http://127.0.0.1:8080/crl/root.crl"),
        "{sub_text}"
    );
    assert!(
        sub_text.contains("OCSP - URI:http://127.0.0.1:8080/ocsp"),
        "{sub_text}"
    );
    assert!(
        sub_text.contains("CA Issuers - URI:http://127.0.0.1:8080/ca/root.crt"),
        "{sub_text}"
    );
    assert!(sub_text.contains("ASN1 OID: prime256v1"), "{sub_text}");

    // AKI of the sub-CA equals SKI of the root.
    let ski = openssl::ok(&[
        "x509",
        "-in",
        h.path("root.pem").to_str().unwrap(),
        "-noout",
        "-ext",
        "subjectKeyIdentifier",
    ]);
    let aki = openssl::ok(&[
        "x509",
        "-in",
        h.path("sub.pem").to_str().unwrap(),
        "-noout",
        "-ext",
        "authorityKeyIdentifier",
    ]);
    let ski_val = ski.lines().nth(1).unwrap().trim().to_string();
    assert!(
        aki.contains(&ski_val),
        "AKI {aki} does not carry root SKI {ski_val}"
    );
}

#[test]
fn second_init_refuses_and_changes_nothing() {
    let h = Hsmca::new();
    h.run(&["init"]).ok();
    let cas_before = h.run(&["ca", "list", "--json"]).ok().stdout;
    let keys_before = h.run(&["hsm", "keys", "--json"]).ok().stdout;
    let files_before = snapshot(&h.data_dir());
    std::thread::sleep(std::time::Duration::from_millis(20));

    h.run(&["init"]).refused("already initialised");

    assert_eq!(h.run(&["ca", "list", "--json"]).ok().stdout, cas_before);
    assert_eq!(h.run(&["hsm", "keys", "--json"]).ok().stdout, keys_before);
    // SoftHSM2 rewrites its token bookkeeping (token.object, generation) on every login,
    // and SQLite its WAL; key objects, secrets and config must be untouched.
    let kept = |p: &std::path::Path| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        !(n.starts_with("hsmca.db")
            || n == "token.object"
            || n == "generation"
            || n.ends_with(".lock"))
    };
    let after: Vec<_> = snapshot(&h.data_dir())
        .into_iter()
        .filter(|(p, _, _)| kept(p))
        .collect();
    let before: Vec<_> = files_before
        .into_iter()
        .filter(|(p, _, _)| kept(p))
        .collect();
    assert!(
        before
            .iter()
            .any(|(p, _, _)| p.extension().is_some_and(|e| e == "object")),
        "key objects are compared"
    );
    assert_eq!(after, before, "token files or secrets changed");
}

#[test]
fn inspection_commands_report_cas_token_and_keys() {
    let h = Hsmca::new();
    h.run(&["init"]).ok();

    let list: serde_json::Value = h.run(&["ca", "list", "--json"]).json();
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["root", "issuing"]);
    assert_eq!(list[1]["parent"], "root");
    assert!(list[0]["parent"].is_null());

    let show: serde_json::Value = h.run(&["ca", "show", "issuing", "--json"]).json();
    assert_eq!(show["issuer"], "CN=hsmca Demo Root CA,O=hsmca Demo,C=US");
    assert!(show["pem"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    // The fingerprint agrees with OpenSSL's.
    std::fs::write(h.path("sub.pem"), show["pem"].as_str().unwrap()).unwrap();
    let fp = openssl::ok(&[
        "x509",
        "-in",
        h.path("sub.pem").to_str().unwrap(),
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    assert!(
        fp.contains(show["sha256_fingerprint"].as_str().unwrap()),
        "{fp} vs {show}"
    );

    let text = h.run(&["ca", "show", "root"]).ok().stdout;
    assert!(
        text.contains("parent:              (self-signed root)"),
        "{text}"
    );
    assert!(
        text.contains("HSM key label:       hsmca-root-key"),
        "{text}"
    );

    let status: serde_json::Value = h.run(&["hsm", "status", "--json"]).json();
    assert_eq!(status["token"], "hsmca");
    assert_eq!(status["logged_in"], true);
    assert_eq!(status["key_pairs"], 2);
    assert!(status["module"]
        .as_str()
        .unwrap()
        .ends_with("libsofthsm2.so"));
    assert!(
        status["library"].as_str().unwrap().contains("SoftHSM"),
        "{status}"
    );

    let keys: serde_json::Value = h.run(&["hsm", "keys", "--json"]).json();
    let private: Vec<_> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["class"] == "private")
        .collect();
    assert_eq!(private.len(), 2);
    for k in private {
        assert_eq!(k["sensitive"], true);
        assert_eq!(k["extractable"], false);
    }
    let types: Vec<_> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["class"] == "private")
        .map(|k| k["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["ec-p256", "ec-p384"]);

    // Both CA certificates are recorded as issued, under their ceremony profiles.
    let certs: serde_json::Value = h.run(&["cert", "list", "--json"]).json();
    let mut profiles: Vec<_> = certs
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["ca"].as_str().unwrap().to_string(),
                c["profile"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    profiles.sort();
    assert_eq!(
        profiles,
        [
            (
                "root".to_string(),
                "root-ca".to_string(),
                "issued".to_string()
            ),
            (
                "root".to_string(),
                "sub-ca".to_string(),
                "issued".to_string()
            ),
        ]
    );

    let missing = h.run(&["ca", "show", "nope"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no CA named \"nope\""),
        "{}",
        missing.stderr
    );
}

#[test]
fn generated_secrets_are_private_files() {
    use std::os::unix::fs::PermissionsExt;
    let h = Hsmca::new();
    h.run(&["init"]).ok();
    for name in ["so.pin", "user.pin"] {
        let p = h.data_dir().join("secrets").join(name);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
        let pin = std::fs::read_to_string(&p).unwrap();
        assert!(pin.trim().len() >= 16);
    }
    let dir_mode = std::fs::metadata(h.data_dir().join("secrets"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
}

#[test]
fn pins_from_environment_are_used_and_never_written() {
    let h = Hsmca::new()
        .env("HSMCA_SO_PIN", "so-pin-from-env-1")
        .env("HSMCA_USER_PIN", "user-pin-from-env-1");
    let out = h.run(&["init"]).ok();
    assert!(
        !h.data_dir().join("secrets").exists(),
        "no secret files when PINs come from the environment"
    );
    assert!(!out.stderr.contains("pin-from-env"));
    h.run(&["hsm", "status"]).ok();
    // A wrong user PIN is refused with a clear one-line error.
    let bad = h.run_with(&["hsm", "status"], &[("HSMCA_USER_PIN", "wrong-pin-123")]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("wrong user PIN"), "{}", bad.stderr);
    assert!(
        !bad.stderr.contains("wrong-pin-123"),
        "the PIN itself is not echoed"
    );
}

#[test]
fn pin_on_the_command_line_is_refused_before_anything_happens() {
    let h = Hsmca::new();
    for args in [
        vec!["--so-pin", "1234", "init"],
        vec!["init", "--user-pin", "1234"],
        vec!["--pin=1234", "hsm", "status"],
    ] {
        let r = h.run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("PINs are not accepted on the command line"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("HSMCA_SO_PIN"), "{}", r.stderr);
    }
    assert!(!h.data_dir().exists(), "nothing was created");
}

#[test]
fn invalid_ceremony_files_name_the_field_and_create_nothing() {
    let h = Hsmca::new();
    let default = include_str!("../../ceremony/default.toml");
    let cases = [
        (
            default.replace("path_len = 0", "path_len = 0\nfavourite_colour = \"blue\""),
            "favourite_colour",
        ),
        (
            default.replace("key = \"ec-p256\"", "key = \"ec-p1024\""),
            "issuing.key",
        ),
        (
            default.replace("CN=hsmca Demo Root CA", "CN=hsmca Demo Root CA,=oops"),
            "root.subject",
        ),
        (
            default.replace("validity_days = 1825", "validity_days = 9000"),
            "issuing.validity_days",
        ),
        (
            default.replace("http://127.0.0.1:8080/ocsp", "ftp://example/ocsp"),
            "root.urls.ocsp",
        ),
        (
            default.replace("crl_shards = 4", "crl_shards = 4\ncrl_shard_count = 2"),
            "crl_shard_count",
        ),
        (
            default.replace("issuing/{shard}.crl", "issuing.crl"),
            "issuing.urls.crl",
        ),
        (
            default.replace(
                "key = \"ec-p384\"",
                "key = \"ec-p384\"\nsignature = \"rsa-pss-sha256\"",
            ),
            "root.signature",
        ),
        ("[root]\nkey = 1\n".to_string(), "ceremony file"),
    ];
    for (text, field) in cases {
        let f = h.write("bad.toml", &text);
        h.run(&["init", "--ceremony", f.to_str().unwrap()])
            .refused(field);
        assert!(
            !h.data_dir().exists(),
            "{field}: the data directory was created"
        );
    }
    let r = h.run(&[
        "init",
        "--ceremony",
        h.path("missing.toml").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot read ceremony file"),
        "{}",
        r.stderr
    );
}

#[test]
fn custom_ceremony_with_rsa_pss_root_ed25519_issuing_and_name_constraints_verifies() {
    let h = Hsmca::new();
    let f = h.write(
        "ceremony.toml",
        r#"
[root]
key = "rsa-3072"
signature = "rsa-pss-sha256"
subject = "CN=Example RSA Root,O=Example"
validity_days = 3650

[root.urls]
crl = "http://crl.example.test/root.crl"

[issuing]
key = "ed25519"
subject = "CN=Example Ed25519 Issuing,O=Example"
validity_days = 365
extended_key_usage = ["serverAuth", "clientAuth"]

[issuing.name_constraints]
permitted_dns = ["example.test"]
excluded_dns = ["bad.example.test"]
"#,
    );
    h.run(&["init", "--ceremony", f.to_str().unwrap()]).ok();
    write_chain(&h);
    verify_chain(&h);
    let root = openssl::x509_text(&h.path("root.pem"));
    assert!(root.contains("Signature Algorithm: rsassaPss"), "{root}");
    assert!(root.contains("Public-Key: (3072 bit)"), "{root}");
    let sub = openssl::x509_text(&h.path("sub.pem"));
    assert!(sub.contains("ED25519"), "{sub}");
    assert!(sub.contains("X509v3 Name Constraints: critical"), "{sub}");
    assert!(
        sub.contains("Permitted:\n                  DNS:example.test"),
        "{sub}"
    );
    assert!(
        sub.contains("Excluded:\n                  DNS:bad.example.test"),
        "{sub}"
    );
    assert!(
        sub.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{sub}"
    );
    assert!(
        sub.contains("URI:http://crl.example.test/root.crl"),
        "{sub}"
    );
    assert!(
        !sub.contains("Authority Information Access"),
        "no AIA when the root publishes none: {sub}"
    );
}

#[test]
fn init_on_postgresql_records_the_chain_in_the_database() {
    let Some(schema) = postgres::schema("init") else {
        return;
    };
    let h = Hsmca::new().env("HSMCA_DATABASE_URL", &schema.url());
    h.run(&["init"]).ok();
    assert!(
        !h.data_dir().join("hsmca.db").exists(),
        "SQLite was not used"
    );
    write_chain(&h);
    verify_chain(&h);
    let again = h.run(&["init"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
}

#[test]
fn unknown_token_label_and_missing_module_are_one_line_errors() {
    let h = Hsmca::new();
    h.run(&["init"]).ok();
    let cfg = h.write("other-token.toml", "[hsm]\ntoken_label = \"nope\"\n");
    let r = h.run(&["--config", cfg.to_str().unwrap(), "hsm", "status"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no token labelled \"nope\""),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("\"hsmca\""),
        "names the present token: {}",
        r.stderr
    );

    let cfg = h.write(
        "no-module.toml",
        "[hsm]\nmodule = \"/opt/missing/libvendor-pkcs11.so\"\n",
    );
    let r = h.run(&["--config", cfg.to_str().unwrap(), "hsm", "status"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("/opt/missing/libvendor-pkcs11.so"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("apt-get install softhsm2"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);

    let cfg = h.write("typo.toml", "[hsm]\ntoken_lable = \"x\"\n");
    let r = h.run(&["--config", cfg.to_str().unwrap(), "hsm", "status"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("token_lable"), "{}", r.stderr);
}

#[test]
fn taken_key_label_refuses_init_before_generating_anything() {
    // A token shared with another application already holds a key with the root's label.
    let h = Hsmca::new()
        .env("HSMCA_SO_PIN", "so-pin-shared-1")
        .env("HSMCA_USER_PIN", "user-pin-shared-1");
    let first = h.write(
        "first.toml",
        &include_str!("../../ceremony/default.toml")
            .replace("name = \"root\"", "name = \"other-root\"")
            .replace("name = \"issuing\"", "name = \"other-issuing\"")
            .replace("hsmca-issuing-key", "other-issuing-key"),
    );
    // First ceremony creates "hsmca-root-key" on the token; remove its CA records by
    // using a different database for the second run.
    h.run(&["init", "--ceremony", first.to_str().unwrap()]).ok();
    let db2 = h.path("second.db");
    let r = h.run_with(&["init"], &[("HSMCA_DATABASE_URL", db2.to_str().unwrap())]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("key label \"hsmca-root-key\" is already taken"),
        "{}",
        r.stderr
    );
    let keys: serde_json::Value = h.run(&["hsm", "keys", "--json"]).json();
    assert_eq!(
        keys.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["class"] == "private")
            .count(),
        2,
        "no key was generated"
    );
}
