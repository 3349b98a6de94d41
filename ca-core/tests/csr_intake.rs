//! CSR intake: each fixture in tests/fixtures/csr (made by make_fixtures.py with openssl and
//! python-cryptography, the independent side) and its expected outcome.

use std::net::IpAddr;
use std::path::PathBuf;

use ca_core::csr::{
    check_subject, parse_csr, CsrSignatureAlgorithm, HashAlgorithm, ParsedCsr, RequestedSan,
    MAX_CSR_INPUT,
};
use ca_core::keycheck::{check_public_key, Blocklist, CheckedKey, KeyKind, KeyPolicy};
use ca_core::Error;
use der::{Decode, DecodePem, Encode};
use spki::SubjectPublicKeyInfoOwned;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/csr")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The intake as issuance runs it: parse and verify, check the key, check the subject.
fn intake_bytes(
    input: &[u8],
    policy: &KeyPolicy,
    blocklist: &Blocklist,
) -> Result<(ParsedCsr, CheckedKey), Error> {
    let csr = parse_csr(input)?;
    let key = check_public_key(csr.public_key(), policy, blocklist)?;
    check_subject(csr.subject())?;
    Ok((csr, key))
}

fn intake_with(name: &str, policy: &KeyPolicy) -> Result<(ParsedCsr, CheckedKey), Error> {
    intake_bytes(&fixture(name), policy, &Blocklist::empty())
}

fn accepted(name: &str) -> (ParsedCsr, CheckedKey) {
    intake_with(name, &KeyPolicy::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_refused(result: Result<impl std::fmt::Debug, Error>, what: &str, needle: &str) {
    match result {
        Ok(v) => panic!("{what}: accepted, expected {needle:?}: {v:?}"),
        Err(e) => {
            assert!(e.is_bad_input(), "{what}: not a bad-input error: {e}");
            assert!(
                e.to_string().contains(needle),
                "{what}: error {:?} does not contain {needle:?}",
                e.to_string()
            );
        }
    }
}

fn refused(name: &str, needle: &str) {
    assert_refused(intake_with(name, &KeyPolicy::default()), name, needle);
}

fn dns(s: &str) -> RequestedSan {
    RequestedSan::Dns(s.into())
}

// ---------------------------------------------------------------- good requests

#[test]
fn good_rsa_2048_from_openssl() {
    let (csr, key) = accepted("good_rsa_2048.pem.csr");
    assert_eq!(key.kind(), KeyKind::Rsa { bits: 2048 });
    assert_eq!(
        csr.signature_algorithm(),
        CsrSignatureAlgorithm::RsaPkcs1(HashAlgorithm::Sha256)
    );
    assert_eq!(
        csr.sans(),
        [
            dns("good.example.com"),
            dns("www.example.com"),
            RequestedSan::Ip("192.0.2.7".parse::<IpAddr>().unwrap()),
            RequestedSan::Ip("2001:db8::1".parse::<IpAddr>().unwrap()),
            RequestedSan::Email("admin@example.com".into()),
            RequestedSan::Uri("https://example.com/".into()),
        ]
    );
    assert_eq!(
        csr.extensions().len(),
        1,
        "openssl -addext adds only the SAN"
    );
    assert_eq!(
        csr.subject().to_string(),
        "CN=good.example.com,O=Example,C=DE"
    );
    // der() is the DER, also for PEM input; and it is what the DER fixture parser sees.
    let again = parse_csr(csr.der()).unwrap();
    assert_eq!(again.der(), csr.der());
    // The SPKI hash the blocklist would use.
    let spki_der = csr.public_key().to_der().unwrap();
    assert_eq!(
        key.spki_sha256().as_slice(),
        <sha2::Sha256 as sha2::Digest>::digest(&spki_der).as_slice()
    );
}

#[test]
fn good_rsa_2048_der_and_deterministic() {
    for name in [
        "good_rsa_2048.der.csr",
        "good_rsa_2048_deterministic.der.csr",
    ] {
        let (csr, key) = accepted(name);
        assert_eq!(key.kind(), KeyKind::Rsa { bits: 2048 }, "{name}");
        assert_eq!(csr.sans().len(), 1, "{name}");
        assert!(matches!(&csr.sans()[0], RequestedSan::Dns(d) if d.ends_with(".example.com")));
    }
}

#[test]
fn good_ecdsa() {
    let (csr, key) = accepted("good_p256.pem.csr");
    assert_eq!(key.kind(), KeyKind::EcP256);
    assert_eq!(
        csr.signature_algorithm(),
        CsrSignatureAlgorithm::Ecdsa(HashAlgorithm::Sha256)
    );
    assert_eq!(csr.sans(), [dns("p256.example.com")]);

    let (csr, key) = accepted("good_p384.pem.csr");
    assert_eq!(key.kind(), KeyKind::EcP384);
    assert_eq!(
        csr.signature_algorithm(),
        CsrSignatureAlgorithm::Ecdsa(HashAlgorithm::Sha384)
    );
    assert_eq!(csr.sans(), [dns("p384.example.com")]);

    let (csr, key) = accepted("good_p256_no_san.pem.csr");
    assert_eq!(key.kind(), KeyKind::EcP256);
    assert!(csr.sans().is_empty() && csr.extensions().is_empty());
}

#[test]
fn good_rsa_pss() {
    let (csr, key) = accepted("good_rsa_pss.pem.csr");
    assert_eq!(key.kind(), KeyKind::Rsa { bits: 2048 });
    assert_eq!(
        csr.signature_algorithm(),
        CsrSignatureAlgorithm::RsaPss {
            hash: HashAlgorithm::Sha256,
            salt_len: 32
        }
    );
    assert_eq!(csr.sans(), [dns("pss.example.com")]);
    let (csr, _) = accepted("good_rsa_pss_sha384.pem.csr");
    assert_eq!(
        csr.signature_algorithm(),
        CsrSignatureAlgorithm::RsaPss {
            hash: HashAlgorithm::Sha384,
            salt_len: 48
        }
    );
}

#[test]
fn ed25519_only_where_the_policy_allows() {
    refused(
        "good_ed25519.pem.csr",
        "Ed25519 keys are not allowed by the key policy",
    );
    let policy = KeyPolicy {
        allow_ed25519: true,
        ..KeyPolicy::default()
    };
    let (csr, key) = intake_with("good_ed25519.pem.csr", &policy).unwrap();
    assert_eq!(key.kind(), KeyKind::Ed25519);
    assert_eq!(csr.signature_algorithm(), CsrSignatureAlgorithm::Ed25519);
    assert_eq!(csr.sans(), [dns("ed25519.example.com")]);
}

#[test]
fn p521_only_where_the_policy_allows() {
    refused(
        "good_p521.pem.csr",
        "P-521 keys are not allowed by the key policy",
    );
    let policy = KeyPolicy {
        allow_p521: true,
        ..KeyPolicy::default()
    };
    let (csr, key) = intake_with("good_p521.pem.csr", &policy).unwrap();
    assert_eq!(key.kind(), KeyKind::EcP521);
    assert_eq!(
        csr.signature_algorithm(),
        CsrSignatureAlgorithm::Ecdsa(HashAlgorithm::Sha512)
    );
}

// ---------------------------------------------------------------- bad requests: RSA keys

#[test]
fn rsa_sizes() {
    refused(
        "rsa_1024.der.csr",
        "RSA modulus of 1024 bits is too small: at least 2048 bits",
    );
    refused("rsa_2047.pem.csr", "RSA modulus of 2047 bits is too small");
    refused(
        "rsa_2049.pem.csr",
        "RSA modulus of 2049 bits: the size must be a multiple of 8",
    );
}

#[test]
fn rsa_exponents() {
    refused(
        "rsa_exponent_3.pem.csr",
        "RSA public exponent 3 is not allowed: the policy requires 65537",
    );
    refused(
        "rsa_exponent_1.pem.csr",
        "RSA public exponent 1 is refused: it must be odd and at least 3",
    );
    refused(
        "rsa_even_exponent.pem.csr",
        "RSA public exponent 2 is refused: it must be odd and at least 3",
    );
    // A policy may allow 3; never 1 or an even exponent.
    let lenient = KeyPolicy {
        rsa_exponents: vec![3, 65537],
        ..KeyPolicy::default()
    };
    let (_, key) = intake_with("rsa_exponent_3.pem.csr", &lenient).unwrap();
    assert_eq!(key.kind(), KeyKind::Rsa { bits: 2048 });
    assert_refused(
        intake_with("rsa_exponent_1.pem.csr", &lenient),
        "exponent 1, lenient policy",
        "must be odd and at least 3",
    );
    assert_refused(
        intake_with("rsa_even_exponent.pem.csr", &lenient),
        "exponent 2, lenient policy",
        "must be odd and at least 3",
    );
}

#[test]
fn factorable_rsa_moduli() {
    refused("roca.pem.csr", "ROCA fingerprint");
    refused("fermat_close_primes.pem.csr", "Fermat's method");
    refused("small_factor.pem.csr", "small prime factor 7919");
}

#[test]
fn blocklisted_key() {
    let blocklist = Blocklist::load(fixture_path("blocklist.txt")).unwrap();
    assert_eq!(blocklist.len(), 2);
    assert_refused(
        intake_bytes(
            &fixture("blocklisted.pem.csr"),
            &KeyPolicy::default(),
            &blocklist,
        ),
        "blocklisted.pem.csr",
        "is on the blocklist",
    );
    // Without the blocklist it is a good P-256 request, and other keys pass the blocklist.
    accepted("blocklisted.pem.csr");
    intake_bytes(
        &fixture("good_p256.pem.csr"),
        &KeyPolicy::default(),
        &blocklist,
    )
    .unwrap();
    // Through the policy's own path.
    let policy = KeyPolicy {
        blocklist: Some(fixture_path("blocklist.txt")),
        ..KeyPolicy::default()
    };
    let from_policy = policy.load_blocklist().unwrap();
    assert_refused(
        intake_bytes(&fixture("blocklisted.pem.csr"), &policy, &from_policy),
        "blocklisted.pem.csr via policy",
        "blocklist",
    );
}

// ---------------------------------------------------------------- bad requests: EC keys

#[test]
fn ec_curves_and_points() {
    refused("p224.pem.csr", "EC curve P-224 (secp224r1) is not accepted");
    refused("secp256k1.pem.csr", "EC curve secp256k1 is not accepted");
    refused(
        "explicit_curve_params.pem.csr",
        "explicit curve parameters (specifiedCurve) are not accepted",
    );
    refused(
        "point_not_on_curve.pem.csr",
        "EC point is not on the P-256 curve",
    );
    refused(
        "p256_compressed_point.pem.csr",
        "compressed P-256 points are not accepted",
    );
}

// ---------------------------------------------------------------- bad requests: signatures

#[test]
fn weak_and_bad_signatures() {
    refused(
        "sha1_signed.pem.csr",
        "CSR: signed with sha1WithRSAEncryption: SHA-1 and MD5 are not accepted",
    );
    refused(
        "md5_signed.pem.csr",
        "CSR: signed with md5WithRSAEncryption: SHA-1 and MD5 are not accepted",
    );
    refused(
        "ecdsa_sha1_signed.pem.csr",
        "signed with ecdsa-with-SHA1: SHA-1 and MD5 are not accepted",
    );
    refused(
        "bad_signature.pem.csr",
        "does not verify with the request's own public key",
    );
}

// ---------------------------------------------------------------- bad requests: subject

#[test]
fn common_name_over_64_characters() {
    // The CSR itself is fine; the subject check refuses it.
    let csr = parse_csr(&fixture("cn_65_chars.pem.csr")).unwrap();
    check_public_key(csr.public_key(), &KeyPolicy::default(), &Blocklist::empty()).unwrap();
    refused(
        "cn_65_chars.pem.csr",
        "subject: CN of 65 characters is over the upper bound of 64 (ub-common-name",
    );
}

// ---------------------------------------------------------------- bad requests: encoding

#[test]
fn encoding_defects() {
    refused(
        "trailing_garbage.der.csr",
        "8 bytes of trailing data after the CSR",
    );
    refused("trailing_garbage.pem.csr", "after the PEM END line");
    refused(
        "ber_indefinite_length.der.csr",
        "indefinite length (BER) is not DER",
    );
    refused(
        "ber_nonminimal_length.der.csr",
        "length in a longer form than needed (BER) is not DER",
    );
    refused(
        "unknown_version.der.csr",
        "unknown version 1: only v1 (0) is defined",
    );
}

#[test]
fn empty_and_oversized_input() {
    assert_refused(parse_csr(b""), "empty", "CSR: empty input");
    assert_refused(parse_csr(b" \n\t"), "whitespace", "only whitespace");
    // 1 MiB: refused by size alone, whatever it holds.
    let big = vec![0x30u8; 1 << 20];
    let start = std::time::Instant::now();
    assert_refused(
        parse_csr(&big),
        "1 MiB",
        "input of 1048576 bytes is over the limit of 65536 bytes",
    );
    assert!(start.elapsed() < std::time::Duration::from_millis(50));
    // A good PEM padded with whitespace past the limit is refused too (no parsing first).
    let mut padded = fixture("good_p256.pem.csr");
    padded.resize(MAX_CSR_INPUT + 1, b'\n');
    assert_refused(parse_csr(&padded), "padded", "over the limit");
    // At the limit, whitespace after the PEM block is fine.
    padded.truncate(MAX_CSR_INPUT);
    parse_csr(&padded).unwrap();
}

#[test]
fn pem_framing() {
    let pem = fixture("good_p256.pem.csr");
    let text = String::from_utf8(pem.clone()).unwrap();
    // Garbage after END.
    let mut garbage = pem.clone();
    garbage.extend_from_slice(b"garbage");
    assert_refused(
        parse_csr(&garbage),
        "PEM + garbage",
        "after the PEM END line",
    );
    // A second PEM block is garbage too.
    let mut two = pem.clone();
    two.extend_from_slice(&pem);
    assert_refused(parse_csr(&two), "two PEM blocks", "after the PEM END line");
    // Text before BEGIN.
    let preamble = format!("Certificate Request:\n{text}");
    assert_refused(
        parse_csr(preamble.as_bytes()),
        "preamble",
        "neither DER (a SEQUENCE) nor PEM",
    );
    // Whitespace around the block, CRLF line ends and the old label are fine.
    parse_csr(format!("\n  {text}\n\n \t").as_bytes()).unwrap();
    parse_csr(text.replace('\n', "\r\n").as_bytes()).unwrap();
    parse_csr(
        text.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
            .as_bytes(),
    )
    .unwrap();
    // Another label is not a CSR.
    assert_refused(
        parse_csr(
            text.replace("CERTIFICATE REQUEST", "CERTIFICATE")
                .as_bytes(),
        ),
        "CERTIFICATE label",
        "PEM label \"CERTIFICATE\" is not CERTIFICATE REQUEST",
    );
    // Missing END.
    let cut = &text[..text.find("-----END").unwrap()];
    assert_refused(
        parse_csr(cut.as_bytes()),
        "no END",
        "PEM without an END line",
    );
}

#[test]
fn der_framing() {
    let der = fixture("good_rsa_2048.der.csr");
    parse_csr(&der).unwrap();
    assert_refused(parse_csr(&der[..der.len() - 1]), "truncated", "truncated");
    assert_refused(
        parse_csr(&[0x31, 0x00]),
        "a SET",
        "neither DER (a SEQUENCE) nor PEM",
    );
    assert_refused(
        parse_csr(&[0x30, 0x03, 0x02, 0x01, 0x00]),
        "a SEQUENCE of one INTEGER",
        "does not decode as a CertificationRequest",
    );
    assert_refused(parse_csr(b"\x04\x00"), "an OCTET STRING", "neither DER");
    // A flipped bit inside certificationRequestInfo: the signature no longer verifies.
    let mut flipped = der.clone();
    let at = der.len() / 3;
    flipped[at] ^= 0x01;
    assert!(parse_csr(&flipped).is_err());
}

// ---------------------------------------------------------------- key checks on bare keys

fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> SubjectPublicKeyInfoOwned {
    use der::asn1::{Any, BitString, Null, UintRef};
    #[derive(der::Sequence)]
    struct RsaPublicKey<'a> {
        modulus: UintRef<'a>,
        public_exponent: UintRef<'a>,
    }
    let key = RsaPublicKey {
        modulus: UintRef::new(modulus).unwrap(),
        public_exponent: UintRef::new(exponent).unwrap(),
    }
    .to_der()
    .unwrap();
    SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::RSA_ENCRYPTION,
            parameters: Some(Any::from(Null)),
        },
        subject_public_key: BitString::from_bytes(&key).unwrap(),
    }
}

/// 20 RSA-2048 keys made by `openssl genpkey`: no false positive from ROCA, Fermat or the
/// small-factor test.
fn openssl_keys() -> Vec<SubjectPublicKeyInfoOwned> {
    let text = String::from_utf8(fixture("openssl_rsa_2048_x20.pub.pem")).unwrap();
    let keys: Vec<_> = text
        .split_inclusive("-----END PUBLIC KEY-----\n")
        .map(|pem| SubjectPublicKeyInfoOwned::from_pem(pem).unwrap())
        .collect();
    assert_eq!(keys.len(), 20);
    keys
}

#[test]
fn no_false_positives_on_openssl_keys() {
    for (i, spki) in openssl_keys().iter().enumerate() {
        let key = check_public_key(spki, &KeyPolicy::default(), &Blocklist::empty())
            .unwrap_or_else(|e| panic!("openssl key {i}: {e}"));
        assert_eq!(key.kind(), KeyKind::Rsa { bits: 2048 });
    }
}

#[test]
fn rsa_over_the_policy_maximum() {
    // An odd 8200-bit number: over the default maximum of 8192.
    let mut n = vec![0xc3u8; 8200 / 8];
    *n.last_mut().unwrap() |= 1;
    assert_refused(
        check_public_key(
            &rsa_spki(&n, &[1, 0, 1]),
            &KeyPolicy::default(),
            &Blocklist::empty(),
        ),
        "RSA-8200",
        "RSA modulus of 8200 bits is too large: at most 8192 bits",
    );
    // Over 16384 bits nothing is decoded at all.
    let mut n = vec![0xc3u8; 16392 / 8];
    *n.last_mut().unwrap() |= 1;
    assert_refused(
        check_public_key(
            &rsa_spki(&n, &[1, 0, 1]),
            &KeyPolicy::default(),
            &Blocklist::empty(),
        ),
        "RSA-16392",
        "too large",
    );
}

#[test]
fn rsa_structural_defects() {
    let good = openssl_keys().remove(0);
    let key_der = good.subject_public_key.raw_bytes().to_vec();
    #[derive(der::Sequence)]
    struct RsaPublicKey<'a> {
        modulus: der::asn1::UintRef<'a>,
        public_exponent: der::asn1::UintRef<'a>,
    }
    let parsed = RsaPublicKey::from_der(&key_der).unwrap();
    let n = parsed.modulus.as_bytes().to_vec();
    let check = |spki: &SubjectPublicKeyInfoOwned| {
        check_public_key(spki, &KeyPolicy::default(), &Blocklist::empty())
    };
    check(&rsa_spki(&n, &[1, 0, 1])).unwrap();
    let mut even = n.clone();
    *even.last_mut().unwrap() &= 0xfe;
    assert_refused(
        check(&rsa_spki(&even, &[1, 0, 1])),
        "even n",
        "RSA modulus is even",
    );
    assert_refused(
        check(&rsa_spki(&n, &[1, 0, 0, 0, 0, 0, 0, 0, 1])),
        "65-bit exponent",
        "RSA public exponent of 65 bits is not accepted",
    );
    // rsaEncryption without its NULL parameters.
    let mut absent = good.clone();
    absent.algorithm.parameters = None;
    assert_refused(check(&absent), "no NULL", "parameters must be NULL");
}

#[test]
fn policy_can_forbid_kinds() {
    let no_rsa = KeyPolicy {
        allow_rsa: false,
        ..KeyPolicy::default()
    };
    assert_refused(
        intake_with("good_rsa_2048.pem.csr", &no_rsa),
        "RSA forbidden",
        "RSA-2048 keys are not allowed by the key policy",
    );
    let strict = KeyPolicy {
        rsa_min_bits: 3072,
        ..KeyPolicy::default()
    };
    assert_refused(
        intake_with("good_rsa_2048.pem.csr", &strict),
        "RSA-3072 minimum",
        "at least 3072 bits",
    );
    let broken = KeyPolicy {
        rsa_exponents: vec![1],
        ..KeyPolicy::default()
    };
    assert_refused(
        intake_with("good_p256.pem.csr", &broken),
        "invalid policy",
        "key policy: rsa_exponents contains 1",
    );
}

/// Random small mutations of every fixture: nothing panics, and no changed request is accepted.
#[test]
fn mutations_never_panic_and_are_never_accepted() {
    let dir = fixture_path("");
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csr") {
            let bytes = std::fs::read(&path).unwrap();
            inputs.push(parse_csr(&bytes).map_or(bytes, |csr| csr.der().to_vec()));
        }
    }
    inputs.sort();
    let policy = KeyPolicy {
        allow_p521: true,
        allow_ed25519: true,
        rsa_exponents: vec![3, 65537],
        ..KeyPolicy::default()
    };
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..4000 {
        let original = &inputs[i % inputs.len()];
        let mut bytes = original.clone();
        for _ in 0..1 + next() % 3 {
            let at = (next() as usize) % bytes.len();
            match next() % 4 {
                0 => bytes[at] ^= 1 << (next() % 8),
                1 => bytes[at] = next() as u8,
                2 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, next() as u8),
            }
            if bytes.is_empty() {
                bytes.push(0x30);
            }
        }
        if let Ok(csr) = parse_csr(&bytes) {
            let _ = check_public_key(csr.public_key(), &policy, &Blocklist::empty());
            let _ = check_subject(csr.subject());
            assert_eq!(&bytes, original, "a changed request was accepted");
        }
    }
}
