//! Public keys read from the token, encoded as SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
//!
//! ```text
//! SubjectPublicKeyInfo  ::=  SEQUENCE  {
//!      algorithm            AlgorithmIdentifier,
//!      subjectPublicKey     BIT STRING  }
//! RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }   -- RFC 8017 A.1.1
//! ECPoint ::= OCTET STRING                                                 -- RFC 5480 §2.2
//! ```

use const_oid::db::{rfc5912, rfc8410};
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, BitString, Null, OctetString, UintRef};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::error::{Error, Result};
use crate::keys::KeySpec;

/// A public key with its kind and DER SubjectPublicKeyInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Kind of key.
    pub spec: KeySpec,
    /// DER-encoded SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
}

#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// `CKA_EC_PARAMS` for a curve: the DER OID of the named curve (RFC 5480 §2.1.1.1,
/// RFC 8410 §3 for Ed25519).
pub(crate) fn curve_params_der(spec: KeySpec) -> Option<Vec<u8>> {
    curve_oid(spec).and_then(|oid| oid.to_der().ok())
}

fn curve_oid(spec: KeySpec) -> Option<ObjectIdentifier> {
    match spec {
        KeySpec::EcP256 => Some(rfc5912::SECP_256_R_1),
        KeySpec::EcP384 => Some(rfc5912::SECP_384_R_1),
        KeySpec::Ed25519 => Some(rfc8410::ID_ED_25519),
        _ => None,
    }
}

fn encode(err: der::Error) -> Error {
    Error::Malformed(format!("encoding a public key: {err}"))
}

impl PublicKey {
    pub(crate) fn from_rsa(spec: KeySpec, n: &[u8], e: &[u8]) -> Result<Self> {
        let body = RsaPublicKey {
            modulus: UintRef::new(n).map_err(encode)?,
            public_exponent: UintRef::new(e).map_err(encode)?,
        }
        .to_der()
        .map_err(encode)?;
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: rfc5912::RSA_ENCRYPTION,
                parameters: Some(Null.into()),
            },
            subject_public_key: BitString::from_bytes(&body).map_err(encode)?,
        };
        Ok(PublicKey {
            spec,
            spki_der: spki.to_der().map_err(encode)?,
        })
    }

    /// `point` is `CKA_EC_POINT`: the DER OCTET STRING holding the point (SoftHSM2 and
    /// most HSMs), or the raw point.
    pub(crate) fn from_ec_point(spec: KeySpec, point: &[u8]) -> Result<Self> {
        let raw = match OctetString::from_der(point) {
            Ok(os) => os.as_bytes().to_vec(),
            Err(_) => point.to_vec(),
        };
        let algorithm = match spec {
            KeySpec::Ed25519 => AlgorithmIdentifierOwned {
                oid: rfc8410::ID_ED_25519,
                parameters: None,
            },
            KeySpec::EcP256 | KeySpec::EcP384 => {
                let curve = curve_oid(spec).expect("EC spec has a curve");
                AlgorithmIdentifierOwned {
                    oid: rfc5912::ID_EC_PUBLIC_KEY,
                    parameters: Some(AnyRef::from(&curve).into()),
                }
            }
            other => {
                return Err(Error::Malformed(format!("{other} is not an EC key")));
            }
        };
        let spki = SubjectPublicKeyInfoOwned {
            algorithm,
            subject_public_key: BitString::from_bytes(&raw).map_err(encode)?,
        };
        Ok(PublicKey {
            spec,
            spki_der: spki.to_der().map_err(encode)?,
        })
    }

    /// The raw `subjectPublicKey` bits (for key identifiers).
    pub fn subject_public_key_bytes(&self) -> Result<Vec<u8>> {
        let spki = SubjectPublicKeyInfoOwned::from_der(&self.spki_der).map_err(encode)?;
        Ok(spki.subject_public_key.raw_bytes().to_vec())
    }
}
