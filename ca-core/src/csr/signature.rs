//! The CSR's signature: which algorithm, and proof of possession.
//!
//! ```text
//! CertificationRequest ::= SEQUENCE {
//!      certificationRequestInfo CertificationRequestInfo,
//!      signatureAlgorithm AlgorithmIdentifier{{ SignatureAlgorithms }},
//!      signature          BIT STRING
//! }
//! ```
//! (RFC 2986 §4.2.) The signature is over the DER of certificationRequestInfo, with the
//! request's own subjectPKInfo. Accepted:
//! - sha{256,384,512}WithRSAEncryption, parameters NULL or absent (RFC 4055 §5);
//! - id-RSASSA-PSS with `RSASSA-PSS-params` (RFC 4055 §3.1) naming SHA-256/384/512, MGF1 with the
//!   same hash, any salt length, trailerField 1;
//! - ecdsa-with-SHA{256,384,512}, parameters absent (RFC 5758 §3.2), on P-256, P-384, P-521;
//! - id-Ed25519, parameters absent (RFC 8410 §6).
//!
//! MD2, MD5 and SHA-1 signatures are refused by name (RFC 6151, RFC 9155; CA/B Forum BR
//! §7.1.3.2); so are SHA-224, DSA and anything else.

use std::fmt;

use const_oid::db::{rfc5912, rfc8410};
use const_oid::ObjectIdentifier;
use der::asn1::Any;
use der::{Encode, Tag, Tagged};
use rsa::pkcs1::RsaPssParams;
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::hazmat::PrehashVerifier;
use signature::Verifier;
use spki::AlgorithmIdentifierOwned;

use super::input::refuse;
use crate::error::Result;
use crate::keycheck::decode::{oid_name, SubjectKey};

const ECDSA_WITH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");

/// A hash function accepted in CSR signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// Digest length in octets.
    fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            rfc5912::ID_SHA_256 => Some(HashAlgorithm::Sha256),
            rfc5912::ID_SHA_384 => Some(HashAlgorithm::Sha384),
            rfc5912::ID_SHA_512 => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }

    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha256 => Sha256::digest(message).to_vec(),
            HashAlgorithm::Sha384 => Sha384::digest(message).to_vec(),
            HashAlgorithm::Sha512 => Sha512::digest(message).to_vec(),
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha384 => "SHA-384",
            HashAlgorithm::Sha512 => "SHA-512",
        })
    }
}

/// The signature algorithm of an accepted CSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CsrSignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with the hash.
    RsaPkcs1(HashAlgorithm),
    /// RSASSA-PSS with the hash (also for MGF1) and the salt length in octets.
    RsaPss {
        /// Message and MGF1 hash.
        hash: HashAlgorithm,
        /// Salt length in octets.
        salt_len: u8,
    },
    /// ECDSA with the hash.
    Ecdsa(HashAlgorithm),
    /// Pure Ed25519.
    Ed25519,
}

impl fmt::Display for CsrSignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsrSignatureAlgorithm::RsaPkcs1(h) => write!(f, "RSA PKCS#1 v1.5 with {h}"),
            CsrSignatureAlgorithm::RsaPss { hash, salt_len } => {
                write!(f, "RSASSA-PSS with {hash}, salt {salt_len} octets")
            }
            CsrSignatureAlgorithm::Ecdsa(h) => write!(f, "ECDSA with {h}"),
            CsrSignatureAlgorithm::Ed25519 => f.write_str("Ed25519"),
        }
    }
}

fn weak_hash(name: &str) -> crate::Error {
    refuse(format!(
        "signed with {name}: SHA-1 and MD5 are not accepted"
    ))
}

/// Reads `signatureAlgorithm`, refusing weak and unknown algorithms.
pub(crate) fn signature_algorithm(alg: &AlgorithmIdentifierOwned) -> Result<CsrSignatureAlgorithm> {
    let params = alg.parameters.as_ref();
    let null_or_absent = params.is_none_or(|p| p.tag() == Tag::Null && p.value().is_empty());
    let absent = params.is_none();
    let bad_params = |name: &str| refuse(format!("{name} with unexpected parameters"));
    let pkcs1 = |h| {
        if null_or_absent {
            Ok(CsrSignatureAlgorithm::RsaPkcs1(h))
        } else {
            Err(bad_params("RSA PKCS#1 v1.5"))
        }
    };
    let ecdsa = |h| {
        if absent {
            Ok(CsrSignatureAlgorithm::Ecdsa(h))
        } else {
            Err(bad_params("ECDSA"))
        }
    };
    match alg.oid {
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION => pkcs1(HashAlgorithm::Sha256),
        rfc5912::SHA_384_WITH_RSA_ENCRYPTION => pkcs1(HashAlgorithm::Sha384),
        rfc5912::SHA_512_WITH_RSA_ENCRYPTION => pkcs1(HashAlgorithm::Sha512),
        rfc5912::ECDSA_WITH_SHA_256 => ecdsa(HashAlgorithm::Sha256),
        rfc5912::ECDSA_WITH_SHA_384 => ecdsa(HashAlgorithm::Sha384),
        rfc5912::ECDSA_WITH_SHA_512 => ecdsa(HashAlgorithm::Sha512),
        rfc8410::ID_ED_25519 if absent => Ok(CsrSignatureAlgorithm::Ed25519),
        rfc8410::ID_ED_25519 => Err(bad_params("Ed25519")),
        rfc5912::ID_RSASSA_PSS => pss(params),
        rfc5912::SHA_1_WITH_RSA_ENCRYPTION => Err(weak_hash("sha1WithRSAEncryption")),
        rfc5912::MD_5_WITH_RSA_ENCRYPTION => Err(weak_hash("md5WithRSAEncryption")),
        rfc5912::MD_2_WITH_RSA_ENCRYPTION => Err(refuse(
            "signed with md2WithRSAEncryption: MD2, MD5 and SHA-1 are not accepted",
        )),
        ECDSA_WITH_SHA1 => Err(weak_hash("ecdsa-with-SHA1")),
        rfc5912::DSA_WITH_SHA_1 => Err(weak_hash("dsa-with-sha1")),
        other => Err(refuse(format!(
            "signature algorithm {} is not accepted",
            oid_name(&other)
        ))),
    }
}

/// RSASSA-PSS-params (RFC 4055 §3.1), with its SHA-1 defaults refused.
fn pss(params: Option<&Any>) -> Result<CsrSignatureAlgorithm> {
    let params = params.ok_or_else(|| refuse("RSASSA-PSS without parameters"))?;
    let der = params.to_der()?;
    let decoded = RsaPssParams::<Any>::try_from(der.as_slice())
        .map_err(|e| refuse(format!("RSASSA-PSS parameters do not decode: {e}")))?;
    let hash_ok = |ai: &spki::AlgorithmIdentifier<Any>| {
        ai.parameters
            .as_ref()
            .is_none_or(|p| p.tag() == Tag::Null && p.value().is_empty())
    };
    if decoded.hash.oid == rfc5912::ID_SHA_1 {
        return Err(weak_hash("RSASSA-PSS using SHA-1"));
    }
    let hash = HashAlgorithm::from_oid(&decoded.hash.oid)
        .filter(|_| hash_ok(&decoded.hash))
        .ok_or_else(|| {
            refuse(format!(
                "RSASSA-PSS hash {} is not accepted",
                oid_name(&decoded.hash.oid)
            ))
        })?;
    let mgf = &decoded.mask_gen;
    let mgf_hash = mgf.parameters.as_ref().map(|h| h.oid);
    if mgf.oid != rfc5912::ID_MGF_1
        || mgf_hash != Some(decoded.hash.oid)
        || !mgf.parameters.as_ref().is_some_and(hash_ok)
    {
        return Err(refuse(format!(
            "RSASSA-PSS mask generation must be MGF1 with {hash}"
        )));
    }
    Ok(CsrSignatureAlgorithm::RsaPss {
        hash,
        salt_len: decoded.salt_len,
    })
}

/// Verifies `signature` over `message` with `key` (proof of possession).
pub(crate) fn verify(
    alg: CsrSignatureAlgorithm,
    key: &SubjectKey,
    raw_public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    use CsrSignatureAlgorithm as A;
    use HashAlgorithm as H;
    if let Some(ok) = verify_with_ring(alg, key, raw_public_key, message, signature) {
        return finish(alg, ok);
    }
    let ok = match (alg, key) {
        (A::RsaPkcs1(h), SubjectKey::Rsa(k)) => {
            use rsa::pkcs1v15::{Signature, VerifyingKey};
            let key = k.verifier()?;
            Signature::try_from(signature).is_ok_and(|s| match h {
                H::Sha256 => VerifyingKey::<Sha256>::new(key).verify(message, &s).is_ok(),
                H::Sha384 => VerifyingKey::<Sha384>::new(key).verify(message, &s).is_ok(),
                H::Sha512 => VerifyingKey::<Sha512>::new(key).verify(message, &s).is_ok(),
            })
        }
        (A::RsaPss { hash, salt_len }, SubjectKey::Rsa(k)) => {
            use rsa::pss::{Signature, VerifyingKey};
            let key = k.verifier()?;
            let salt = usize::from(salt_len);
            Signature::try_from(signature).is_ok_and(|s| match hash {
                H::Sha256 => VerifyingKey::<Sha256>::new_with_salt_len(key, salt)
                    .verify(message, &s)
                    .is_ok(),
                H::Sha384 => VerifyingKey::<Sha384>::new_with_salt_len(key, salt)
                    .verify(message, &s)
                    .is_ok(),
                H::Sha512 => VerifyingKey::<Sha512>::new_with_salt_len(key, salt)
                    .verify(message, &s)
                    .is_ok(),
            })
        }
        (A::Ecdsa(h), SubjectKey::P256(k)) => {
            let prehash = h.digest(message);
            p256::ecdsa::DerSignature::from_bytes(signature).is_ok_and(|s| {
                p256::ecdsa::VerifyingKey::from(k)
                    .verify_prehash(&prehash, &s)
                    .is_ok()
            })
        }
        (A::Ecdsa(h), SubjectKey::P384(k)) => {
            let prehash = h.digest(message);
            p384::ecdsa::DerSignature::from_bytes(signature).is_ok_and(|s| {
                p384::ecdsa::VerifyingKey::from(k)
                    .verify_prehash(&prehash, &s)
                    .is_ok()
            })
        }
        (A::Ecdsa(h), SubjectKey::P521(k)) => {
            let prehash = h.digest(message);
            p521::ecdsa::DerSignature::from_bytes(signature).is_ok_and(|s| {
                p521::ecdsa::VerifyingKey::from(k)
                    .verify_prehash(&prehash, &s)
                    .is_ok()
            })
        }
        (A::Ed25519, SubjectKey::Ed25519(k)) => ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|s| k.verify_strict(message, &s).is_ok()),
        (alg, key) => {
            return Err(refuse(format!(
                "signature algorithm {alg} does not fit the request's {} key",
                key.kind()
            )))
        }
    };
    finish(alg, ok)
}

fn finish(alg: CsrSignatureAlgorithm, ok: bool) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(refuse(format!(
            "signature ({alg}) does not verify with the request's own public key: \
             no proof of possession"
        )))
    }
}

/// The fast path: `ring` verifies the common combinations (RSA up to 8192 bits with PKCS#1
/// v1.5 or PSS with a hash-length salt, ECDSA P-256/P-384 with SHA-256/384, Ed25519);
/// `None` sends the rest to the RustCrypto verifiers.
fn verify_with_ring(
    alg: CsrSignatureAlgorithm,
    key: &SubjectKey,
    raw_public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Option<bool> {
    use ring::signature as rs;
    use CsrSignatureAlgorithm as A;
    use HashAlgorithm as H;
    let ring_alg: &'static dyn rs::VerificationAlgorithm = match (alg, key) {
        (A::RsaPkcs1(h), SubjectKey::Rsa(k)) if (2048..=8192).contains(&k.bits()) => match h {
            H::Sha256 => &rs::RSA_PKCS1_2048_8192_SHA256,
            H::Sha384 => &rs::RSA_PKCS1_2048_8192_SHA384,
            H::Sha512 => &rs::RSA_PKCS1_2048_8192_SHA512,
        },
        (A::RsaPss { hash, salt_len }, SubjectKey::Rsa(k))
            if (2048..=8192).contains(&k.bits()) && usize::from(salt_len) == hash.output_len() =>
        {
            match hash {
                H::Sha256 => &rs::RSA_PSS_2048_8192_SHA256,
                H::Sha384 => &rs::RSA_PSS_2048_8192_SHA384,
                H::Sha512 => &rs::RSA_PSS_2048_8192_SHA512,
            }
        }
        (A::Ecdsa(H::Sha256), SubjectKey::P256(_)) => &rs::ECDSA_P256_SHA256_ASN1,
        (A::Ecdsa(H::Sha384), SubjectKey::P256(_)) => &rs::ECDSA_P256_SHA384_ASN1,
        (A::Ecdsa(H::Sha256), SubjectKey::P384(_)) => &rs::ECDSA_P384_SHA256_ASN1,
        (A::Ecdsa(H::Sha384), SubjectKey::P384(_)) => &rs::ECDSA_P384_SHA384_ASN1,
        (A::Ed25519, SubjectKey::Ed25519(_)) => &rs::ED25519,
        _ => return None,
    };
    Some(crate::verify::ring_verify(
        ring_alg,
        raw_public_key,
        message,
        signature,
    ))
}
