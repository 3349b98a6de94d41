//! Making requests with OpenSSL and an initialised hsmca data directory for issuance tests.

use std::path::{Path, PathBuf};

use crate::cli::Hsmca;
use crate::openssl;

/// A ceremony whose URLs are public-looking names (linters refuse internal names such as
/// 127.0.0.1 in certificates meant for the Web PKI).
pub const PUBLIC_URL_CEREMONY: &str = r#"
[root]
key = "ec-p384"
subject = "CN=hsmca Test Root CA,O=hsmca Test,C=US"
validity_days = 3650
path_len = 1

[root.urls]
crl = "http://pki.example.com/crl/root.crl"
ocsp = ["http://ocsp.example.com/"]
ca_issuers = ["http://pki.example.com/ca/root.crt"]

[issuing]
key = "ec-p256"
subject = "CN=hsmca Test Issuing CA,O=hsmca Test,C=US"
validity_days = 1825

[issuing.urls]
crl = "http://pki.example.com/crl/issuing/{shard}.crl"
delta_crl = "http://pki.example.com/crl/issuing/{shard}-delta.crl"
crl_shards = 8
ocsp = ["http://ocsp.example.com/"]
ca_issuers = ["http://pki.example.com/ca/issuing.crt"]
"#;

/// Writes `text` as profile file `file` into a `profiles` directory beside the data
/// directory, and a config file naming that directory (`issuance.profiles_dir`); returns
/// the config file, for `--config`. Called again, it adds to the same directory.
pub fn with_profile(h: &Hsmca, file: &str, text: &str) -> PathBuf {
    let dir = h.path("profiles");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), text).unwrap();
    h.write(
        "cfg.toml",
        &format!("[issuance]\nprofiles_dir = \"{}\"\n", dir.display()),
    )
}

/// An initialised data directory (ceremony above) with `root.pem` and `issuing.pem` written.
pub fn initialised() -> Hsmca {
    initialise(Hsmca::new(), PUBLIC_URL_CEREMONY)
}

/// Runs `hsmca init` with `ceremony` on `h` (which may carry a database URL) and writes the
/// CA certificates as `root.pem` and `issuing.pem` beside the data directory.
pub fn initialise(h: Hsmca, ceremony: &str) -> Hsmca {
    let c = h.write("ceremony.toml", ceremony);
    h.run(&["init", "--ceremony", c.to_str().unwrap()]).ok();
    for ca in ["root", "issuing"] {
        let pem = h.run(&["ca", "show", ca, "--pem"]).ok().stdout;
        std::fs::write(h.path(&format!("{ca}.pem")), pem).unwrap();
    }
    h
}

/// Key algorithm options for `openssl req -newkey`.
pub fn newkey(kind: &str) -> Vec<String> {
    match kind {
        "rsa2048" => vec!["-newkey".into(), "rsa:2048".into()],
        "rsa3072" => vec!["-newkey".into(), "rsa:3072".into()],
        "p256" => vec![
            "-newkey".into(),
            "ec".into(),
            "-pkeyopt".into(),
            "ec_paramgen_curve:P-256".into(),
        ],
        "p384" => vec![
            "-newkey".into(),
            "ec".into(),
            "-pkeyopt".into(),
            "ec_paramgen_curve:P-384".into(),
        ],
        "ed25519" => vec!["-newkey".into(), "ed25519".into()],
        other => panic!("unknown key kind {other}"),
    }
}

/// Makes a CSR with OpenSSL: `subj` like `/CN=x`, `exts` as `-addext` values.
pub fn csr(dir: &Path, name: &str, kind: &str, subj: &str, exts: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.csr"));
    let key = dir.join(format!("{name}.key"));
    let mut args: Vec<String> = vec!["req".into(), "-new".into(), "-nodes".into()];
    args.extend(newkey(kind));
    args.extend([
        "-keyout".into(),
        key.display().to_string(),
        "-subj".into(),
        subj.into(),
        "-out".into(),
        out.display().to_string(),
    ]);
    for e in exts {
        args.push("-addext".into());
        args.push((*e).into());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl::ok(&refs);
    out
}

/// The X509v3 extension names `openssl x509 -text` lists, with "critical" marks.
pub fn extension_names(pem: &Path) -> Vec<String> {
    let text = openssl::x509_text(pem);
    let mut out = Vec::new();
    let mut in_ext = false;
    for line in text.lines() {
        if line.trim() == "X509v3 extensions:" {
            in_ext = true;
            continue;
        }
        if in_ext {
            if line.starts_with("    Signature Algorithm") {
                break;
            }
            // Extension headers are indented 12 spaces; their values deeper.
            if line.starts_with("            ") && !line.starts_with("             ") {
                out.push(line.trim().trim_end_matches(':').to_string());
            }
        }
    }
    out.sort();
    out
}

/// Runs `hsmca --config CFG issue --ca CA --profile PROFILE --csr CSR [--out OUT]` and
/// returns how it ended, for the caller to judge.
pub fn issue_with(
    h: &Hsmca,
    cfg: &str,
    ca: &str,
    profile: &str,
    csr: &str,
    out: Option<&str>,
) -> crate::cli::Run {
    let mut args = vec![
        "--config",
        cfg,
        "issue",
        "--ca",
        ca,
        "--profile",
        profile,
        "--csr",
        csr,
    ];
    if let Some(out) = out {
        args.extend(["--out", out]);
    }
    h.run(&args)
}

/// Issues a `tls-server` certificate for `NAME.example.com` from the issuing CA of `h` with
/// a fresh P-256 key; returns the PEM path and the serial as lowercase hex.
pub fn issue_tls(h: &Hsmca, name: &str) -> (PathBuf, String) {
    let dns = format!("{name}.example.com");
    let csr = csr(
        &h.path(""),
        name,
        "p256",
        &format!("/CN={dns}"),
        &[&format!("subjectAltName=DNS:{dns}")],
    );
    let out = h.path(&format!("{name}.pem"));
    h.run(&[
        "issue",
        "--ca",
        "issuing",
        "--profile",
        "tls-server",
        "--csr",
        csr.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    let serial = openssl::ok(&["x509", "-in", out.to_str().unwrap(), "-noout", "-serial"]);
    let serial = serial
        .trim()
        .trim_start_matches("serial=")
        .to_ascii_lowercase();
    (out, serial)
}

/// Checks `pem` with `openssl verify -x509_strict` against the chain `initialised` wrote
/// beside the data directory of `h` (`root.pem` trusted, `issuing.pem` untrusted).
pub fn verify_chain(h: &Hsmca, pem: &Path) {
    openssl::ok(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        h.path("root.pem").to_str().unwrap(),
        "-untrusted",
        h.path("issuing.pem").to_str().unwrap(),
        pem.to_str().unwrap(),
    ]);
}
