//! The streaming CRL encoder: its output equals x509-cert's own encoding of the same
//! CertificateList byte for byte, and `openssl crl -verify` accepts it, for ECDSA (signed
//! from the digest), RSA PKCS#1 v1.5 (digest in a DigestInfo) and Ed25519 (whole TBS) CA
//! keys, with and without entries, full and delta.

use ca_core::crl::encode::{crl_extensions, revoked_cert};
use ca_core::crl::{write_crl, CrlParams};
use ca_core::serial::Serial;
use ca_core::store::CrlEntry;
use chrono::{Duration, NaiveDateTime};
use der::{Decode, Encode};
use hsmca_tests::{inproc, openssl, softhsm};
use sha2::Digest;
use x509_cert::crl::{CertificateList, TbsCertList};

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn entries() -> Vec<CrlEntry> {
    [
        ("01aa", 0u8, None),
        ("7f00ff", 1, Some(at("2026-11-01 10:00:00"))),
        ("3c5e1f2a9b7d4e6f8a0b1c2d3e4f5a6b", 4, None),
        ("0102030405", 6, None),
    ]
    .into_iter()
    .map(|(s, reason, inv)| CrlEntry {
        serial: Serial::parse(s).unwrap(),
        revoked_at: at("2026-11-20 12:34:56"),
        reason,
        invalidity_date: inv,
    })
    .collect()
}

fn pem(der: &[u8], label: &str) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap()
}

fn check(key: &str, prefix: &str) {
    let t = softhsm::fresh_token(prefix);
    let dir = tempfile::tempdir().unwrap();
    let store = ca_store::Store::open(dir.path().join("c.db").to_str().unwrap(), 2).unwrap();
    let toml = include_str!("../../ceremony/default.toml")
        .replace("key = \"ec-p256\"", &format!("key = \"{key}\""));
    let p = inproc::ceremony(&t.token, &store, &toml, prefix);
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, pem(&p.issuing_ca.certificate_der, "CERTIFICATE")).unwrap();
    let this_update = at("2026-11-27 00:00:00");
    for (list, base, idp) in [
        (
            entries(),
            None,
            Some("http://pki.example.com/crl/issuing/3.crl"),
        ),
        (Vec::new(), None, None),
        (
            entries()[1..3].to_vec(),
            Some(7),
            Some("http://pki.example.com/crl/issuing/3.crl"),
        ),
    ] {
        let params = CrlParams {
            this_update,
            next_update: this_update + Duration::days(7),
            number: 9,
            base_number: base,
            distribution_point: idp.map(str::to_string),
        };
        // Two pages (the first entry, then the rest), then the end.
        let split = list.len().min(1);
        let mut pages = vec![list[split..].to_vec(), list[..split].to_vec()];
        let mut spool = tempfile::tempfile().unwrap();
        let mut out = Vec::new();
        let signed = write_crl(
            &p.issuing,
            &params,
            || Ok(pages.pop().unwrap_or_default()),
            &mut spool,
            &mut out,
        )
        .unwrap();
        assert_eq!(signed.entries, list.len() as u64);
        assert_eq!(signed.der_len, out.len() as u64);
        assert_eq!(signed.sha256, sha2::Sha256::digest(&out).to_vec());

        // Byte-identical with x509-cert's encoding of the same values.
        let parsed = CertificateList::from_der(&out).expect("a DER CertificateList");
        let expected = TbsCertList {
            version: x509_cert::Version::V2,
            signature: p.issuing.key().algorithm().clone(),
            issuer: p.issuing.subject().clone(),
            this_update: ca_core::time::to_x509(this_update).unwrap(),
            next_update: Some(ca_core::time::to_x509(params.next_update).unwrap()),
            revoked_certificates: (!list.is_empty())
                .then(|| list.iter().map(|e| revoked_cert(e).unwrap()).collect()),
            crl_extensions: Some(crl_extensions(&p.issuing, &params).unwrap()),
        };
        assert!(
            parsed.tbs_cert_list == expected,
            "{key}: the streamed TBS differs"
        );
        let whole = CertificateList {
            tbs_cert_list: expected,
            signature_algorithm: parsed.signature_algorithm.clone(),
            signature: parsed.signature.clone(),
        };
        assert_eq!(whole.to_der().unwrap(), out, "{key}");

        // openssl verifies the signature and reads the extensions.
        let crl_pem = dir.path().join("c.crl.pem");
        std::fs::write(&crl_pem, pem(&out, "X509 CRL")).unwrap();
        let text = openssl::ok(&[
            "crl",
            "-in",
            crl_pem.to_str().unwrap(),
            "-CAfile",
            ca_pem.to_str().unwrap(),
            "-verify",
            "-noout",
            "-text",
        ]);
        assert!(text.contains("verify OK"), "{key}: {text}");
        assert!(text.contains("X509v3 CRL Number"), "{text}");
        assert_eq!(
            text.contains("Delta CRL Indicator: critical"),
            base.is_some(),
            "{text}"
        );
        assert_eq!(
            text.contains("X509v3 Issuing Distribution Point: critical"),
            idp.is_some(),
            "{text}"
        );
        if let Some(u) = idp {
            assert!(text.contains(&format!("URI:{u}")), "{text}");
        }
        if list.is_empty() {
            assert!(text.contains("No Revoked Certificates"), "{text}");
        } else {
            assert!(text.contains("7F00FF"), "{text}");
            assert!(text.contains("Key Compromise"), "{text}");
        }
    }
}

#[test]
fn ecdsa_p256_crls_are_signed_from_the_streamed_digest() {
    check("ec-p256", "crlp256");
}

#[test]
fn rsa_crls_are_signed_from_a_digest_info() {
    check("rsa-2048", "crlrsa");
}

#[test]
fn ed25519_crls_are_signed_whole() {
    check("ed25519", "crled");
}
