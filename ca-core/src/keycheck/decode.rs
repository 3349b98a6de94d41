//! Decoding a SubjectPublicKeyInfo into a key that can verify a signature, refusing what no
//! policy accepts. Used by CSR intake (to check proof of possession) and by the key check.
//!
//! ```text
//! SubjectPublicKeyInfo  ::=  SEQUENCE  {
//!      algorithm            AlgorithmIdentifier,
//!      subjectPublicKey     BIT STRING  }
//! ```
//! - RSA (RFC 3279 §2.3.1): algorithm rsaEncryption, parameters NULL, and the BIT STRING holds
//!   `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
//! - EC (RFC 5480 §2.1.1): algorithm id-ecPublicKey, parameters
//!   `ECParameters ::= CHOICE { namedCurve OBJECT IDENTIFIER, implicitCurve NULL, specifiedCurve
//!   SpecifiedECDomain }` of which only namedCurve is allowed (RFC 5480: "MUST NOT use
//!   implicitCurve or specifiedCurve"); the BIT STRING is the SEC 1 point, and we accept only the
//!   uncompressed form (RFC 5480 §2.2: uncompressed MUST be supported, compressed MAY).
//! - Ed25519 (RFC 8410 §3, §4): algorithm id-Ed25519, parameters absent, a 32-octet key.

use const_oid::db::{rfc5912, rfc8410};
use const_oid::ObjectIdentifier;
use crypto_bigint::BoxedUint;
use der::asn1::UintRef;
use der::{Decode, Sequence, Tag, Tagged};
use spki::SubjectPublicKeyInfoOwned;

use super::KeyKind;
use crate::error::{Error, Result};

/// Largest RSA modulus decoded at all, in bits (the policy's own limit is usually lower).
pub(crate) const RSA_MAX_DECODE_BITS: u32 = 16384;
/// Largest RSA public exponent the verifier supports (the `rsa` crate's limit, 2^33 − 1).
pub(crate) const RSA_MAX_EXPONENT: u64 = (1 << 33) - 1;

const SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");
const PRIME192V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.1");

/// ```text
/// RSAPublicKey ::= SEQUENCE {
///     modulus           INTEGER,  -- n
///     publicExponent    INTEGER   -- e
/// }
/// ```
/// (RFC 8017 Appendix A.1.1)
#[derive(Sequence)]
struct RsaPublicKeyAsn1<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// An RSA public key: modulus and a small, odd exponent ≥ 3.
#[derive(Debug, Clone)]
pub(crate) struct RsaKey {
    n: BoxedUint,
    e: u64,
    bits: u32,
}

impl RsaKey {
    /// The modulus.
    pub(crate) fn modulus(&self) -> &BoxedUint {
        &self.n
    }

    /// The public exponent.
    pub(crate) fn exponent(&self) -> u64 {
        self.e
    }

    /// Modulus size in bits.
    pub(crate) fn bits(&self) -> u32 {
        self.bits
    }

    /// The key as the `rsa` crate's verifier wants it.
    pub(crate) fn verifier(&self) -> Result<rsa::PublicKey> {
        rsa::PublicKey::new_with_size_limits(
            self.n.clone(),
            BoxedUint::from(self.e),
            1..=RSA_MAX_DECODE_BITS as usize,
        )
        .map_err(|e| refuse(format!("RSA public key is unusable: {e}")))
    }
}

/// A decoded subscriber key.
#[derive(Debug, Clone)]
pub(crate) enum SubjectKey {
    Rsa(RsaKey),
    P256(p256::PublicKey),
    P384(p384::PublicKey),
    P521(p521::PublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl SubjectKey {
    /// Kind and size.
    pub(crate) fn kind(&self) -> KeyKind {
        match self {
            SubjectKey::Rsa(k) => KeyKind::Rsa { bits: k.bits },
            SubjectKey::P256(_) => KeyKind::EcP256,
            SubjectKey::P384(_) => KeyKind::EcP384,
            SubjectKey::P521(_) => KeyKind::EcP521,
            SubjectKey::Ed25519(_) => KeyKind::Ed25519,
        }
    }
}

/// Decodes `spki`, refusing unknown algorithms, unusual encodings and invalid keys.
pub(crate) fn decode_subject_key(spki: &SubjectPublicKeyInfoOwned) -> Result<SubjectKey> {
    let oid = spki.algorithm.oid;
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| refuse("subjectPublicKey BIT STRING has unused bits"))?;
    let params = spki.algorithm.parameters.as_ref();
    match oid {
        rfc5912::RSA_ENCRYPTION => {
            match params {
                Some(p) if p.tag() == Tag::Null && p.value().is_empty() => {}
                _ => {
                    return Err(refuse(
                        "rsaEncryption parameters must be NULL (RFC 3279 §2.3.1)",
                    ))
                }
            }
            decode_rsa(key_bytes).map(SubjectKey::Rsa)
        }
        rfc5912::ID_EC_PUBLIC_KEY => {
            let curve = named_curve(params)?;
            decode_ec(curve, key_bytes)
        }
        rfc8410::ID_ED_25519 => {
            if params.is_some() {
                return Err(refuse("id-Ed25519 parameters must be absent (RFC 8410 §3)"));
            }
            decode_ed25519(key_bytes).map(SubjectKey::Ed25519)
        }
        rfc5912::ID_RSASSA_PSS => Err(refuse(
            "RSASSA-PSS public keys (id-RSASSA-PSS) are not accepted: use an rsaEncryption key",
        )),
        rfc5912::ID_DSA => Err(refuse("DSA keys are not accepted")),
        rfc8410::ID_ED_448 => Err(refuse("Ed448 keys are not accepted")),
        rfc8410::ID_X_25519 | rfc8410::ID_X_448 => Err(refuse(format!(
            "{} is a key-agreement key and cannot sign",
            oid_name(&oid)
        ))),
        other => Err(refuse(format!(
            "public key algorithm {} is not accepted",
            oid_name(&other)
        ))),
    }
}

fn decode_rsa(key_bytes: &[u8]) -> Result<RsaKey> {
    let asn1 = RsaPublicKeyAsn1::from_der(key_bytes)
        .map_err(|e| refuse(format!("RSAPublicKey does not decode: {e}")))?;
    let n = asn1.modulus.as_bytes();
    let e = asn1.public_exponent.as_bytes();
    let bits = bit_length(n);
    if bits > RSA_MAX_DECODE_BITS {
        return Err(refuse(format!(
            "RSA modulus of {bits} bits is too large: at most {RSA_MAX_DECODE_BITS} bits are decoded"
        )));
    }
    if n.last().is_none_or(|b| b & 1 == 0) {
        return Err(refuse("RSA modulus is even"));
    }
    if e.len() > 8 {
        return Err(refuse(format!(
            "RSA public exponent of {} bits is not accepted",
            bit_length(e)
        )));
    }
    let e = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    if e < 3 || e % 2 == 0 {
        return Err(refuse(format!(
            "RSA public exponent {e} is refused: it must be odd and at least 3"
        )));
    }
    if e > RSA_MAX_EXPONENT {
        return Err(refuse(format!(
            "RSA public exponent {e} is not accepted: at most 2^33 - 1"
        )));
    }
    Ok(RsaKey {
        n: BoxedUint::from_be_slice_vartime(n),
        e,
        bits,
    })
}

/// The curve OID of `ECParameters`, refusing implicit and explicit parameters.
fn named_curve(params: Option<&der::Any>) -> Result<ObjectIdentifier> {
    let params = params.ok_or_else(|| refuse("id-ecPublicKey without ECParameters"))?;
    match params.tag() {
        Tag::ObjectIdentifier => params
            .decode_as::<ObjectIdentifier>()
            .map_err(|e| refuse(format!("namedCurve does not decode: {e}"))),
        Tag::Sequence => Err(refuse(
            "explicit curve parameters (specifiedCurve) are not accepted: \
             use a named curve (RFC 5480 §2.1.1)",
        )),
        Tag::Null => Err(refuse(
            "implicitCurve parameters are not accepted: use a named curve (RFC 5480 §2.1.1)",
        )),
        other => Err(refuse(format!(
            "ECParameters with tag {other} do not decode"
        ))),
    }
}

fn decode_ec(curve: ObjectIdentifier, point: &[u8]) -> Result<SubjectKey> {
    let (name, field_len) = match curve {
        rfc5912::SECP_256_R_1 => ("P-256", 32),
        rfc5912::SECP_384_R_1 => ("P-384", 48),
        rfc5912::SECP_521_R_1 => ("P-521", 66),
        rfc5912::SECP_224_R_1 => {
            return Err(refuse(
                "EC curve P-224 (secp224r1) is not accepted: use P-256 or P-384",
            ))
        }
        SECP256K1 => {
            return Err(refuse(
                "EC curve secp256k1 is not accepted: use P-256 or P-384",
            ))
        }
        PRIME192V1 => {
            return Err(refuse(
                "EC curve P-192 (prime192v1) is not accepted: use P-256 or P-384",
            ))
        }
        other => {
            return Err(refuse(format!(
                "EC curve {} is not accepted: use P-256 or P-384",
                oid_name(&other)
            )))
        }
    };
    match point.first() {
        Some(0x04) if point.len() == 1 + 2 * field_len => {}
        Some(0x02 | 0x03) => {
            return Err(refuse(format!(
                "compressed {name} points are not accepted: send the uncompressed point"
            )))
        }
        Some(0x00) => return Err(refuse(format!("{name} point is the point at infinity"))),
        _ => {
            return Err(refuse(format!(
                "{name} point is not an uncompressed SEC 1 point of {} octets",
                1 + 2 * field_len
            )))
        }
    }
    let off_curve = || refuse(format!("EC point is not on the {name} curve"));
    Ok(match curve {
        rfc5912::SECP_256_R_1 => {
            SubjectKey::P256(p256::PublicKey::from_sec1_bytes(point).map_err(|_| off_curve())?)
        }
        rfc5912::SECP_384_R_1 => {
            SubjectKey::P384(p384::PublicKey::from_sec1_bytes(point).map_err(|_| off_curve())?)
        }
        _ => SubjectKey::P521(p521::PublicKey::from_sec1_bytes(point).map_err(|_| off_curve())?),
    })
}

fn decode_ed25519(key_bytes: &[u8]) -> Result<ed25519_dalek::VerifyingKey> {
    let raw: &[u8; 32] = key_bytes.try_into().map_err(|_| {
        refuse(format!(
            "Ed25519 public key is {} octets, not 32",
            key_bytes.len()
        ))
    })?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(raw)
        .map_err(|_| refuse("Ed25519 public key does not decode to a curve point"))?;
    if key.is_weak() {
        return Err(refuse("Ed25519 public key is a small-order point"));
    }
    Ok(key)
}

/// Bits in a big-endian unsigned integer.
fn bit_length(be: &[u8]) -> u32 {
    match be.iter().position(|b| *b != 0) {
        None => 0,
        Some(i) => (be.len() - i - 1) as u32 * 8 + (8 - be[i].leading_zeros()),
    }
}

/// A readable name for an OID: its name in the const-oid database, else the dotted form.
pub(crate) fn oid_name(oid: &ObjectIdentifier) -> String {
    match const_oid::db::DB.by_oid(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_string(),
    }
}

fn refuse(reason: impl Into<String>) -> Error {
    Error::invalid("public key", reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::asn1::Null;

    #[test]
    fn bit_length_counts_from_the_top_bit() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x7f, 0xff]), 15);
    }

    #[test]
    fn null_is_what_rsa_parameters_must_be() {
        // Null's DER: the key decoder compares the tag and an empty value.
        let any = der::Any::from(Null);
        assert_eq!(any.tag(), Tag::Null);
        assert!(any.value().is_empty());
    }
}
