//! Verifying signatures with a public key, in software, after the HSM signs
//! (invariant 2: "HSM signs → verify the signature with the issuer's public key").

use der::Decode;
use hsm_backend::SignatureScheme;
use signature::Verifier;
use spki::{DecodePublicKey, SubjectPublicKeyInfoRef};

/// Checks `signature` over `message` with the SubjectPublicKeyInfo `spki_der`.
pub fn verify_signature(
    scheme: SignatureScheme,
    spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    use SignatureScheme as S;
    let e = |x: &dyn std::fmt::Display| x.to_string();
    match scheme {
        S::EcdsaSha256 => {
            let vk = p256::ecdsa::VerifyingKey::from_public_key_der(spki_der).map_err(|x| e(&x))?;
            let sig = p256::ecdsa::DerSignature::from_bytes(signature).map_err(|x| e(&x))?;
            vk.verify(message, &sig).map_err(|x| e(&x))
        }
        S::EcdsaSha384 => {
            let vk = p384::ecdsa::VerifyingKey::from_public_key_der(spki_der).map_err(|x| e(&x))?;
            let sig = p384::ecdsa::DerSignature::from_bytes(signature).map_err(|x| e(&x))?;
            vk.verify(message, &sig).map_err(|x| e(&x))
        }
        S::Ed25519 => {
            let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|x| e(&x))?;
            let raw: [u8; 32] = spki
                .subject_public_key
                .raw_bytes()
                .try_into()
                .map_err(|_| "Ed25519 public key is not 32 octets".to_string())?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|x| e(&x))?;
            let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|x| e(&x))?;
            vk.verify_strict(message, &sig).map_err(|x| e(&x))
        }
        rsa_scheme => verify_rsa(rsa_scheme, spki_der, message, signature),
    }
}

fn verify_rsa(
    scheme: SignatureScheme,
    spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    use rsa::{pkcs1v15, pss};
    use sha2::{Sha256, Sha384, Sha512};
    use SignatureScheme as S;
    let e = |x: &dyn std::fmt::Display| x.to_string();
    let key = rsa::PublicKey::from_public_key_der(spki_der).map_err(|x| e(&x))?;
    let v1 = pkcs1v15::Signature::try_from(signature);
    let ps = pss::Signature::try_from(signature);
    match scheme {
        S::RsaPkcs1Sha256 => pkcs1v15::VerifyingKey::<Sha256>::new(key)
            .verify(message, &v1.map_err(|x| e(&x))?)
            .map_err(|x| e(&x)),
        S::RsaPkcs1Sha384 => pkcs1v15::VerifyingKey::<Sha384>::new(key)
            .verify(message, &v1.map_err(|x| e(&x))?)
            .map_err(|x| e(&x)),
        S::RsaPkcs1Sha512 => pkcs1v15::VerifyingKey::<Sha512>::new(key)
            .verify(message, &v1.map_err(|x| e(&x))?)
            .map_err(|x| e(&x)),
        S::RsaPssSha256 => pss::VerifyingKey::<Sha256>::new(key)
            .verify(message, &ps.map_err(|x| e(&x))?)
            .map_err(|x| e(&x)),
        S::RsaPssSha384 => pss::VerifyingKey::<Sha384>::new(key)
            .verify(message, &ps.map_err(|x| e(&x))?)
            .map_err(|x| e(&x)),
        S::RsaPssSha512 => pss::VerifyingKey::<Sha512>::new(key)
            .verify(message, &ps.map_err(|x| e(&x))?)
            .map_err(|x| e(&x)),
        other => Err(format!("no verifier for {other}")),
    }
}
