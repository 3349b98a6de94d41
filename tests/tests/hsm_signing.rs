//! Every key type generated in a real SoftHSM2 token signs, and OpenSSL verifies each
//! signature with the public key the backend reports.

use std::path::Path;
use std::sync::Arc;

use hsm_backend::{KeySpec, SignatureScheme, Signer};
use hsmca_tests::{openssl, softhsm};

fn spki_pem(der: &[u8]) -> String {
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, der).unwrap()
}

/// Verifies with `openssl dgst` / `openssl pkeyutl`, returning whether OpenSSL accepted it.
fn openssl_verifies(
    dir: &Path,
    scheme: SignatureScheme,
    spki_der: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> bool {
    let pubf = dir.join("pub.pem");
    let msgf = dir.join("msg.bin");
    let sigf = dir.join("sig.bin");
    std::fs::write(&pubf, spki_pem(spki_der)).unwrap();
    std::fs::write(&msgf, msg).unwrap();
    std::fs::write(&sigf, sig).unwrap();
    let (p, m, s) = (
        pubf.to_str().unwrap(),
        msgf.to_str().unwrap(),
        sigf.to_str().unwrap(),
    );
    use SignatureScheme as S;
    let pss = |md: &'static str, salt: &'static str| {
        vec![
            "dgst",
            md,
            "-verify",
            p,
            "-signature",
            s,
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            salt,
            "-sigopt",
            match md {
                "-sha256" => "rsa_mgf1_md:sha256",
                "-sha384" => "rsa_mgf1_md:sha384",
                _ => "rsa_mgf1_md:sha512",
            },
            m,
        ]
    };
    let args: Vec<&str> = match scheme {
        S::RsaPkcs1Sha256 | S::EcdsaSha256 => {
            vec!["dgst", "-sha256", "-verify", p, "-signature", s, m]
        }
        S::RsaPkcs1Sha384 | S::EcdsaSha384 => {
            vec!["dgst", "-sha384", "-verify", p, "-signature", s, m]
        }
        S::RsaPkcs1Sha512 => vec!["dgst", "-sha512", "-verify", p, "-signature", s, m],
        S::RsaPssSha256 => pss("-sha256", "rsa_pss_saltlen:32"),
        S::RsaPssSha384 => pss("-sha384", "rsa_pss_saltlen:48"),
        S::RsaPssSha512 => pss("-sha512", "rsa_pss_saltlen:64"),
        S::Ed25519 => vec![
            "pkeyutl", "-verify", "-pubin", "-inkey", p, "-rawin", "-in", m, "-sigfile", s,
        ],
        other => panic!("no openssl check for {other}"),
    };
    openssl::run(&args).status.success()
}

fn check_key(spec: KeySpec, schemes: &[SignatureScheme]) {
    let t = softhsm::fresh_token("sign");
    let key = t.token.generate_key(spec, &format!("{spec}-key")).unwrap();
    assert_eq!(key.spec, spec);
    let dir = tempfile::tempdir().unwrap();
    for &scheme in schemes {
        let signer = t.token.signer(&key, scheme).unwrap();
        let msg = format!("hsmca signs with {spec} / {scheme}").into_bytes();
        let sig = signer.sign(&msg).unwrap();
        let spki = signer.public_key().spki_der.clone();
        assert!(
            openssl_verifies(dir.path(), scheme, &spki, &msg, &sig),
            "openssl rejected a {scheme} signature by a {spec} key"
        );
        // And a signature over other bytes must not verify: the check is not vacuous.
        assert!(
            !openssl_verifies(dir.path(), scheme, &spki, b"other message", &sig),
            "openssl accepted a {scheme} signature over the wrong message"
        );
    }
}

const RSA_SCHEMES: [SignatureScheme; 6] = [
    SignatureScheme::RsaPkcs1Sha256,
    SignatureScheme::RsaPkcs1Sha384,
    SignatureScheme::RsaPkcs1Sha512,
    SignatureScheme::RsaPssSha256,
    SignatureScheme::RsaPssSha384,
    SignatureScheme::RsaPssSha512,
];

#[test]
fn rsa_2048_signs_pkcs1_and_pss_and_openssl_verifies() {
    check_key(KeySpec::Rsa2048, &RSA_SCHEMES);
}

#[test]
fn rsa_3072_signs_pkcs1_and_pss_and_openssl_verifies() {
    check_key(KeySpec::Rsa3072, &RSA_SCHEMES);
}

#[test]
fn rsa_4096_signs_pkcs1_and_pss_and_openssl_verifies() {
    check_key(KeySpec::Rsa4096, &RSA_SCHEMES);
}

#[test]
fn p256_signs_ecdsa_sha256_der_and_openssl_verifies() {
    check_key(KeySpec::EcP256, &[SignatureScheme::EcdsaSha256]);
}

#[test]
fn p384_signs_ecdsa_sha384_der_and_openssl_verifies() {
    check_key(KeySpec::EcP384, &[SignatureScheme::EcdsaSha384]);
}

#[test]
fn ed25519_signs_and_openssl_verifies() {
    check_key(KeySpec::Ed25519, &[SignatureScheme::Ed25519]);
}

#[test]
fn scheme_that_does_not_fit_the_key_is_refused() {
    let t = softhsm::fresh_token("mismatch");
    let key = t.token.generate_key(KeySpec::EcP256, "p256").unwrap();
    let err = t
        .token
        .signer(&key, SignatureScheme::RsaPssSha256)
        .unwrap_err();
    assert!(
        matches!(err, hsm_backend::Error::SchemeMismatch { .. }),
        "{err}"
    );
}

#[test]
fn many_threads_share_one_signer_through_the_session_pool() {
    let t = softhsm::fresh_token("pool");
    let key = t.token.generate_key(KeySpec::EcP256, "pool-key").unwrap();
    let signer = Arc::new(t.token.signer(&key, SignatureScheme::EcdsaSha256).unwrap());
    let spki = signer.public_key().spki_der.clone();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let signer = signer.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|j| {
                        let msg = format!("thread {i} message {j}").into_bytes();
                        let sig = signer.sign(&msg).unwrap();
                        (msg, sig)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let all: Vec<_> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(all.len(), 400);
    // Every signature verifies (in software) with the HSM's public key.
    for (msg, sig) in &all {
        ca_core::verify::verify_signature(SignatureScheme::EcdsaSha256, &spki, msg, sig)
            .expect("pooled signature verifies");
    }
    // Spot-check a few with OpenSSL as the independent judge.
    let dir = tempfile::tempdir().unwrap();
    for (msg, sig) in all.iter().step_by(97) {
        assert!(openssl_verifies(
            dir.path(),
            SignatureScheme::EcdsaSha256,
            &spki,
            msg,
            sig
        ));
    }
}
