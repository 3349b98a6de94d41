//! Verifying signatures in software: the HSM's signature before a certificate is stored
//! (invariant 2: "HSM signs → verify the signature with the issuer's public key"), and CSR
//! proof of possession. `ring`'s constant-time, assembly-optimised verifiers do the work: on
//! the issuance hot path two verifications happen per certificate, and RustCrypto's P-256
//! verifier costs about 330 µs here against ring's tens of microseconds (BENCHMARKS.md).

use der::Decode;
use hsm_backend::SignatureScheme;
use ring::signature::{self as rs, VerificationAlgorithm};
use spki::SubjectPublicKeyInfoRef;

/// A verification algorithm as `ring` names it.
pub(crate) fn ring_algorithm(
    scheme: SignatureScheme,
) -> Option<&'static dyn VerificationAlgorithm> {
    use SignatureScheme as S;
    Some(match scheme {
        S::RsaPkcs1Sha256 => &rs::RSA_PKCS1_2048_8192_SHA256,
        S::RsaPkcs1Sha384 => &rs::RSA_PKCS1_2048_8192_SHA384,
        S::RsaPkcs1Sha512 => &rs::RSA_PKCS1_2048_8192_SHA512,
        // Our PSS signatures use a salt as long as the hash, which is what ring verifies.
        S::RsaPssSha256 => &rs::RSA_PSS_2048_8192_SHA256,
        S::RsaPssSha384 => &rs::RSA_PSS_2048_8192_SHA384,
        S::RsaPssSha512 => &rs::RSA_PSS_2048_8192_SHA512,
        S::EcdsaSha256 => &rs::ECDSA_P256_SHA256_ASN1,
        S::EcdsaSha384 => &rs::ECDSA_P384_SHA384_ASN1,
        S::Ed25519 => &rs::ED25519,
        _ => return None,
    })
}

/// Verifies with `ring`: `public_key` is the subjectPublicKey BIT STRING content (an
/// RSAPublicKey DER for RSA, the uncompressed point for ECDSA, 32 octets for Ed25519).
pub(crate) fn ring_verify(
    alg: &'static dyn VerificationAlgorithm,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    rs::UnparsedPublicKey::new(alg, public_key)
        .verify(message, signature)
        .is_ok()
}

/// Checks `signature` over `message` with the SubjectPublicKeyInfo `spki_der`.
pub fn verify_signature(
    scheme: SignatureScheme,
    spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| e.to_string())?;
    let alg = ring_algorithm(scheme).ok_or_else(|| format!("no verifier for {scheme}"))?;
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| "public key BIT STRING has unused bits".to_string())?;
    if ring_verify(alg, key, message, signature) {
        Ok(())
    } else {
        Err(format!("{scheme} signature does not verify"))
    }
}

/// Checks `signature` over a message given only as its `digest` (the scheme's hash), for
/// messages too large to hold (CRLs). ECDSA P-256/P-384 and RSASSA-PKCS1-v1_5, through
/// RustCrypto's prehash verifiers; other schemes are refused.
pub fn verify_prehashed(
    scheme: SignatureScheme,
    spki_der: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    use signature::hazmat::PrehashVerifier;
    use spki::DecodePublicKey;
    use SignatureScheme as S;
    let bad = |e: &dyn std::fmt::Display| format!("{scheme} signature does not verify: {e}");
    match scheme {
        S::EcdsaSha256 => {
            let key =
                p256::ecdsa::VerifyingKey::from_public_key_der(spki_der).map_err(|e| bad(&e))?;
            let sig = p256::ecdsa::DerSignature::try_from(signature).map_err(|e| bad(&e))?;
            key.verify_prehash(digest, &sig).map_err(|e| bad(&e))
        }
        S::EcdsaSha384 => {
            let key =
                p384::ecdsa::VerifyingKey::from_public_key_der(spki_der).map_err(|e| bad(&e))?;
            let sig = p384::ecdsa::DerSignature::try_from(signature).map_err(|e| bad(&e))?;
            key.verify_prehash(digest, &sig).map_err(|e| bad(&e))
        }
        S::RsaPkcs1Sha256 | S::RsaPkcs1Sha384 | S::RsaPkcs1Sha512 => {
            let key = rsa::PublicKey::from_public_key_der(spki_der).map_err(|e| bad(&e))?;
            let padding = match scheme {
                S::RsaPkcs1Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                S::RsaPkcs1Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                _ => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
            };
            key.verify(padding, digest, signature).map_err(|e| bad(&e))
        }
        other => Err(format!("no prehash verifier for {other}")),
    }
}
