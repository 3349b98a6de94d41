//! Signing with keys that stay in the token.
//!
//! Output formats are the ones X.509 carries in `signatureValue` (RFC 5280 §4.1.1.3):
//! RSA signatures as the raw octets (RFC 8017), ECDSA as DER (RFC 3279 §2.2.3:
//! `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`), Ed25519 as the 64 raw octets
//! (RFC 8410 §6). SoftHSM2 has no `CKM_ECDSA_SHA256`, so ECDSA messages are hashed here and
//! signed with plain `CKM_ECDSA`.

use std::fmt;
use std::sync::{Arc, Mutex};

use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{ObjectClass, ObjectHandle};
use der::asn1::UintRef;
use der::{Encode, Sequence};
use sha2::{Digest, Sha256, Sha384};

use crate::error::{Error, Result};
use crate::keys::{find_one, KeyRef, KeySpec};
use crate::pubkey::PublicKey;
use crate::token::Token;

/// A signature algorithm the backend can run in the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcs1Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RsaPkcs1Sha384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RsaPkcs1Sha512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-byte salt.
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384, 48-byte salt.
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512, 64-byte salt.
    RsaPssSha512,
    /// ECDSA with SHA-256 (P-256).
    EcdsaSha256,
    /// ECDSA with SHA-384 (P-384).
    EcdsaSha384,
    /// Pure Ed25519.
    Ed25519,
}

impl SignatureScheme {
    /// Every scheme.
    pub const ALL: [SignatureScheme; 9] = [
        SignatureScheme::RsaPkcs1Sha256,
        SignatureScheme::RsaPkcs1Sha384,
        SignatureScheme::RsaPkcs1Sha512,
        SignatureScheme::RsaPssSha256,
        SignatureScheme::RsaPssSha384,
        SignatureScheme::RsaPssSha512,
        SignatureScheme::EcdsaSha256,
        SignatureScheme::EcdsaSha384,
        SignatureScheme::Ed25519,
    ];

    /// Configuration name (`rsa-pkcs1-sha256`, `ecdsa-sha256`, …).
    pub fn name(self) -> &'static str {
        match self {
            SignatureScheme::RsaPkcs1Sha256 => "rsa-pkcs1-sha256",
            SignatureScheme::RsaPkcs1Sha384 => "rsa-pkcs1-sha384",
            SignatureScheme::RsaPkcs1Sha512 => "rsa-pkcs1-sha512",
            SignatureScheme::RsaPssSha256 => "rsa-pss-sha256",
            SignatureScheme::RsaPssSha384 => "rsa-pss-sha384",
            SignatureScheme::RsaPssSha512 => "rsa-pss-sha512",
            SignatureScheme::EcdsaSha256 => "ecdsa-sha256",
            SignatureScheme::EcdsaSha384 => "ecdsa-sha384",
            SignatureScheme::Ed25519 => "ed25519",
        }
    }

    /// Parses a configuration name.
    pub fn parse(name: &str) -> Result<Self> {
        SignatureScheme::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| Error::Invalid {
                what: "signature scheme",
                reason: format!(
                    "{name:?} is not one of {}",
                    SignatureScheme::ALL.map(SignatureScheme::name).join(", ")
                ),
            })
    }

    /// The scheme a CA uses by default for a key kind.
    pub fn default_for(spec: KeySpec) -> Option<Self> {
        match spec {
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                Some(SignatureScheme::RsaPkcs1Sha256)
            }
            KeySpec::EcP256 => Some(SignatureScheme::EcdsaSha256),
            KeySpec::EcP384 => Some(SignatureScheme::EcdsaSha384),
            KeySpec::Ed25519 => Some(SignatureScheme::Ed25519),
            KeySpec::Aes256 => None,
        }
    }

    /// Whether a key of `spec` can produce this scheme.
    pub fn fits(self, spec: KeySpec) -> bool {
        use SignatureScheme as S;
        match spec {
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => matches!(
                self,
                S::RsaPkcs1Sha256
                    | S::RsaPkcs1Sha384
                    | S::RsaPkcs1Sha512
                    | S::RsaPssSha256
                    | S::RsaPssSha384
                    | S::RsaPssSha512
            ),
            KeySpec::EcP256 => self == S::EcdsaSha256,
            KeySpec::EcP384 => self == S::EcdsaSha384,
            KeySpec::Ed25519 => self == S::Ed25519,
            KeySpec::Aes256 => false,
        }
    }
}

impl fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Something that signs with a key it never reveals. `ca-core` signs through this trait.
pub trait Signer: Send + Sync {
    /// The algorithm the signatures are made with.
    fn scheme(&self) -> SignatureScheme;
    /// The public key that verifies them.
    fn public_key(&self) -> &PublicKey;
    /// Signs `message` (not a digest: hashing is part of the scheme).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
    /// Signs a message of which only the digest is given, hashed with the scheme's hash
    /// (see [`SignatureScheme::prehash`]): lets a caller stream a large message (a CRL)
    /// through the hash instead of holding it. The signature is the same as
    /// [`Signer::sign`] of the whole message. Schemes that sign the message itself
    /// (Ed25519) refuse.
    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>> {
        let _ = digest;
        Err(Error::Invalid {
            what: "signature scheme",
            reason: format!("{} cannot sign a prehashed message", self.scheme()),
        })
    }
}

/// A hash a scheme signs the digest of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prehash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Prehash {
    /// Digest length in octets.
    pub fn len(self) -> usize {
        match self {
            Prehash::Sha256 => 32,
            Prehash::Sha384 => 48,
            Prehash::Sha512 => 64,
        }
    }

    /// Always false (a digest is never empty); for clippy's `len` convention.
    pub fn is_empty(self) -> bool {
        false
    }
}

impl SignatureScheme {
    /// The hash whose digest [`Signer::sign_prehashed`] takes, or `None` for schemes that
    /// sign the whole message (Ed25519).
    pub fn prehash(self) -> Option<Prehash> {
        use SignatureScheme as S;
        match self {
            S::RsaPkcs1Sha256 | S::RsaPssSha256 | S::EcdsaSha256 => Some(Prehash::Sha256),
            S::RsaPkcs1Sha384 | S::RsaPssSha384 | S::EcdsaSha384 => Some(Prehash::Sha384),
            S::RsaPkcs1Sha512 | S::RsaPssSha512 => Some(Prehash::Sha512),
            S::Ed25519 => None,
        }
    }
}

/// `DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }`
/// (RFC 8017 §9.2): what CKM_RSA_PKCS signs for RSASSA-PKCS1-v1_5 over a given digest.
#[derive(Sequence)]
struct DigestInfo {
    digest_algorithm: spki::AlgorithmIdentifierOwned,
    digest: der::asn1::OctetString,
}

/// A [`Signer`] backed by a private key in a token.
pub struct HsmSigner {
    token: Arc<Token>,
    key: KeyRef,
    scheme: SignatureScheme,
    public: PublicKey,
    /// Private-key handle, valid for the session generation it was found in.
    handle: Mutex<Option<(u64, ObjectHandle)>>,
}

impl fmt::Debug for HsmSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HsmSigner")
            .field("token", &self.token.label())
            .field("key", &self.key.label)
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl Token {
    /// A signer for `key` using `scheme`.
    pub fn signer(self: &Arc<Self>, key: &KeyRef, scheme: SignatureScheme) -> Result<HsmSigner> {
        if !scheme.fits(key.spec) {
            return Err(Error::SchemeMismatch {
                key: key.label.clone(),
                spec: key.spec.to_string(),
                scheme: scheme.to_string(),
            });
        }
        let public = self.public_key(key)?;
        Ok(HsmSigner {
            token: self.clone(),
            key: key.clone(),
            scheme,
            public,
            handle: Mutex::new(None),
        })
    }
}

/// RFC 3279 §2.2.3.
#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

fn pss(hash: MechanismType, mgf: PkcsMgfType, salt: u64) -> PkcsPssParams {
    PkcsPssParams {
        hash_alg: hash,
        mgf,
        s_len: salt.into(),
    }
}

impl HsmSigner {
    /// The key this signer uses.
    pub fn key(&self) -> &KeyRef {
        &self.key
    }

    fn private_handle(
        &self,
        session: &cryptoki::session::Session,
        generation: u64,
    ) -> cryptoki::error::Result<Option<ObjectHandle>> {
        let mut cached = self.handle.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((g, h)) = *cached {
            if g == generation {
                return Ok(Some(h));
            }
        }
        let h = find_one(session, ObjectClass::PRIVATE_KEY, &self.key.label)?;
        *cached = h.map(|h| (generation, h));
        Ok(h)
    }
}

impl Signer for HsmSigner {
    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        use SignatureScheme as S;
        let digest: Option<Vec<u8>> = match self.scheme {
            S::EcdsaSha256 => Some(Sha256::digest(message).to_vec()),
            S::EcdsaSha384 => Some(Sha384::digest(message).to_vec()),
            _ => None,
        };
        let mechanism = self.message_mechanism();
        let input: &[u8] = digest.as_deref().unwrap_or(message);
        self.sign_raw(&mechanism, input)
    }

    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>> {
        use SignatureScheme as S;
        let Some(hash) = self.scheme.prehash() else {
            return Err(Error::Invalid {
                what: "signature scheme",
                reason: format!("{} cannot sign a prehashed message", self.scheme),
            });
        };
        if digest.len() != hash.len() {
            return Err(Error::Invalid {
                what: "digest",
                reason: format!(
                    "{} octets, {} needs {}",
                    digest.len(),
                    self.scheme,
                    hash.len()
                ),
            });
        }
        let (oid, mgf, mech) = match hash {
            Prehash::Sha256 => (
                const_oid::db::rfc5912::ID_SHA_256,
                PkcsMgfType::MGF1_SHA256,
                MechanismType::SHA256,
            ),
            Prehash::Sha384 => (
                const_oid::db::rfc5912::ID_SHA_384,
                PkcsMgfType::MGF1_SHA384,
                MechanismType::SHA384,
            ),
            Prehash::Sha512 => (
                const_oid::db::rfc5912::ID_SHA_512,
                PkcsMgfType::MGF1_SHA512,
                MechanismType::SHA512,
            ),
        };
        match self.scheme {
            S::EcdsaSha256 | S::EcdsaSha384 => self.sign_raw(&Mechanism::Ecdsa, digest),
            S::RsaPkcs1Sha256 | S::RsaPkcs1Sha384 | S::RsaPkcs1Sha512 => {
                let info = DigestInfo {
                    digest_algorithm: spki::AlgorithmIdentifierOwned {
                        oid,
                        parameters: Some(der::asn1::Null.into()),
                    },
                    digest: der::asn1::OctetString::new(digest)
                        .map_err(|e| Error::Malformed(format!("DigestInfo: {e}")))?,
                }
                .to_der()
                .map_err(|e| Error::Malformed(format!("DigestInfo: {e}")))?;
                self.sign_raw(&Mechanism::RsaPkcs, &info)
            }
            _ => {
                let params = pss(mech, mgf, hash.len() as u64);
                self.sign_raw(&Mechanism::RsaPkcsPss(params), digest)
            }
        }
    }
}

impl HsmSigner {
    /// The mechanism that signs a whole message (or, for ECDSA, its host-computed digest).
    fn message_mechanism(&self) -> Mechanism<'static> {
        use SignatureScheme as S;
        let eddsa = EddsaParams::new(EddsaSignatureScheme::Pure);
        match self.scheme {
            S::RsaPkcs1Sha256 => Mechanism::Sha256RsaPkcs,
            S::RsaPkcs1Sha384 => Mechanism::Sha384RsaPkcs,
            S::RsaPkcs1Sha512 => Mechanism::Sha512RsaPkcs,
            S::RsaPssSha256 => Mechanism::Sha256RsaPkcsPss(pss(
                MechanismType::SHA256,
                PkcsMgfType::MGF1_SHA256,
                32,
            )),
            S::RsaPssSha384 => Mechanism::Sha384RsaPkcsPss(pss(
                MechanismType::SHA384,
                PkcsMgfType::MGF1_SHA384,
                48,
            )),
            S::RsaPssSha512 => Mechanism::Sha512RsaPkcsPss(pss(
                MechanismType::SHA512,
                PkcsMgfType::MGF1_SHA512,
                64,
            )),
            S::EcdsaSha256 | S::EcdsaSha384 => Mechanism::Ecdsa,
            S::Ed25519 => Mechanism::Eddsa(eddsa),
        }
    }

    /// Runs `mechanism` over `input` with the private key, retrying once after the token
    /// recovers, and returns the signature in X.509 form.
    fn sign_raw(&self, mechanism: &Mechanism<'_>, input: &[u8]) -> Result<Vec<u8>> {
        use SignatureScheme as S;
        let context = format!("signing with key {:?} ({})", self.key.label, self.scheme);
        let mut missing = false;
        let raw = self.token.with_session(&context, |session, generation| {
            match self.private_handle(session, generation)? {
                Some(h) => session.sign(mechanism, h, input),
                None => {
                    missing = true;
                    Ok(Vec::new())
                }
            }
        })?;
        if missing {
            return Err(Error::KeyNotFound(self.key.label.clone()));
        }
        match self.scheme {
            S::EcdsaSha256 | S::EcdsaSha384 => ecdsa_raw_to_der(&raw),
            _ => Ok(raw),
        }
    }
}

/// Converts the PKCS#11 `r || s` form to DER `Ecdsa-Sig-Value`.
fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(Error::Malformed(format!(
            "ECDSA signature of odd length {}",
            raw.len()
        )));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let bad = |e: der::Error| Error::Malformed(format!("ECDSA signature: {e}"));
    EcdsaSigValue {
        r: UintRef::new(r).map_err(bad)?,
        s: UintRef::new(s).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}
