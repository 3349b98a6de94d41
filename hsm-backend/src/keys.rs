//! Key generation inside the token, and finding keys by label or id.
//!
//! Invariant 1: private and secret keys are created with `CKA_SENSITIVE=true` and
//! `CKA_EXTRACTABLE=false`; nothing in this crate asks for `CKA_VALUE` of one.

use std::fmt;
use std::str::FromStr;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use crate::error::{Error, Result};
use crate::pubkey::{curve_params_der, PublicKey};
use crate::token::Token;

/// Kinds of key the backend generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeySpec {
    /// RSA, 2048-bit modulus, e = 65537.
    Rsa2048,
    /// RSA, 3072-bit modulus, e = 65537.
    Rsa3072,
    /// RSA, 4096-bit modulus, e = 65537.
    Rsa4096,
    /// ECDSA on NIST P-256.
    EcP256,
    /// ECDSA on NIST P-384.
    EcP384,
    /// EdDSA on edwards25519.
    Ed25519,
    /// AES, 256-bit (a secret key, for wrapping).
    Aes256,
}

impl KeySpec {
    /// Every kind, in display order.
    pub const ALL: [KeySpec; 7] = [
        KeySpec::Rsa2048,
        KeySpec::Rsa3072,
        KeySpec::Rsa4096,
        KeySpec::EcP256,
        KeySpec::EcP384,
        KeySpec::Ed25519,
        KeySpec::Aes256,
    ];

    /// The name used in configuration files and the store.
    pub fn name(self) -> &'static str {
        match self {
            KeySpec::Rsa2048 => "rsa-2048",
            KeySpec::Rsa3072 => "rsa-3072",
            KeySpec::Rsa4096 => "rsa-4096",
            KeySpec::EcP256 => "ec-p256",
            KeySpec::EcP384 => "ec-p384",
            KeySpec::Ed25519 => "ed25519",
            KeySpec::Aes256 => "aes-256",
        }
    }

    /// Whether this is an asymmetric (signing) key.
    pub fn is_signing(self) -> bool {
        !matches!(self, KeySpec::Aes256)
    }

    fn rsa_bits(self) -> Option<u64> {
        match self {
            KeySpec::Rsa2048 => Some(2048),
            KeySpec::Rsa3072 => Some(3072),
            KeySpec::Rsa4096 => Some(4096),
            _ => None,
        }
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeySpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        KeySpec::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| Error::Invalid {
                what: "key type",
                reason: format!(
                    "{s:?} is not one of {}",
                    KeySpec::ALL.map(KeySpec::name).join(", ")
                ),
            })
    }
}

/// A reference to a key in the token: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID` (16 random bytes for keys this crate generates).
    pub id: Vec<u8>,
    /// Key type.
    pub spec: KeySpec,
}

/// A key object as listed by [`Token::list_keys`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// `private`, `public` or `secret`.
    pub class: &'static str,
    /// Key type, when it is one this crate knows.
    pub spec: Option<KeySpec>,
    /// `CKA_SENSITIVE` (private and secret keys).
    pub sensitive: Option<bool>,
    /// `CKA_EXTRACTABLE` (private and secret keys).
    pub extractable: Option<bool>,
}

fn hex_id(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

fn validate_key_label(label: &str) -> Result<()> {
    if label.is_empty() || label.len() > 128 || label.chars().any(|c| c.is_control()) {
        return Err(Error::Invalid {
            what: "key label",
            reason: format!("{label:?} must be 1 to 128 characters without control characters"),
        });
    }
    Ok(())
}

pub(crate) fn find_one(
    session: &Session,
    class: ObjectClass,
    label: &str,
) -> cryptoki::error::Result<Option<ObjectHandle>> {
    let found = session.find_objects(&[
        Attribute::Class(class),
        Attribute::Label(label.as_bytes().to_vec()),
    ])?;
    Ok(found.into_iter().next())
}

fn spec_of(session: &Session, handle: ObjectHandle) -> cryptoki::error::Result<Option<KeySpec>> {
    let attrs = session.get_attributes(
        handle,
        &[
            AttributeType::KeyType,
            AttributeType::ModulusBits,
            AttributeType::Modulus,
            AttributeType::EcParams,
            AttributeType::ValueLen,
        ],
    )?;
    let mut key_type = None;
    let mut bits = None;
    let mut params = None;
    let mut value_len = None;
    for a in attrs {
        match a {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::ModulusBits(b) => bits = Some(u64::from(b)),
            // Private keys carry the modulus but not always CKA_MODULUS_BITS.
            Attribute::Modulus(m) if bits.is_none() => {
                let significant = m.iter().skip_while(|b| **b == 0).count() as u64;
                bits = Some(significant * 8);
            }
            Attribute::EcParams(p) => params = Some(p),
            Attribute::ValueLen(l) => value_len = Some(u64::from(l)),
            _ => {}
        }
    }
    Ok(match key_type {
        Some(KeyType::RSA) => match bits {
            Some(2048) => Some(KeySpec::Rsa2048),
            Some(3072) => Some(KeySpec::Rsa3072),
            Some(4096) => Some(KeySpec::Rsa4096),
            _ => None,
        },
        Some(KeyType::EC) => params.and_then(|p| {
            [KeySpec::EcP256, KeySpec::EcP384]
                .into_iter()
                .find(|k| curve_params_der(*k).as_deref() == Some(p.as_slice()))
        }),
        // SoftHSM2 stores the private half's params as PrintableString "edwards25519"
        // (the PKCS#11 3.0 curve-name form) and the public half's as the RFC 8410 OID.
        Some(KeyType::EC_EDWARDS) => params.and_then(|p| {
            let oid = curve_params_der(KeySpec::Ed25519);
            let by_name = p.len() > 2 && &p[2..] == b"edwards25519";
            (oid.as_deref() == Some(p.as_slice()) || by_name).then_some(KeySpec::Ed25519)
        }),
        Some(KeyType::AES) if value_len == Some(32) => Some(KeySpec::Aes256),
        _ => None,
    })
}

impl Token {
    /// Crypto Officer operation: generates a key of `spec` inside the token under `label`.
    /// Fails with [`Error::KeyLabelTaken`] if any object already carries the label.
    pub fn generate_key(&self, spec: KeySpec, label: &str) -> Result<KeyRef> {
        validate_key_label(label)?;
        if self.label_in_use(label)? {
            return Err(Error::KeyLabelTaken(label.to_string()));
        }
        let mut id = vec![0u8; 16];
        getrandom::fill(&mut id).map_err(|e| Error::Malformed(format!("random source: {e}")))?;
        let lab = label.as_bytes().to_vec();
        let private_template = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(lab.clone()),
            Attribute::Id(id.clone()),
        ];
        let mut public_template = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Label(lab.clone()),
            Attribute::Id(id.clone()),
        ];
        let context = format!("generating {spec} key {label:?}");
        if let Some(bits) = spec.rsa_bits() {
            public_template.push(Attribute::ModulusBits(bits.into()));
            public_template.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
            self.with_session(&context, |s, _| {
                s.generate_key_pair(
                    &Mechanism::RsaPkcsKeyPairGen,
                    &public_template,
                    &private_template,
                )
            })?;
        } else if spec == KeySpec::Aes256 {
            let template = vec![
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen(32.into()),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::Wrap(true),
                Attribute::Unwrap(true),
                Attribute::Label(lab),
                Attribute::Id(id.clone()),
            ];
            self.with_session(&context, |s, _| {
                s.generate_key(&Mechanism::AesKeyGen, &template)
            })?;
        } else {
            let params = curve_params_der(spec).ok_or_else(|| Error::Invalid {
                what: "key type",
                reason: format!("{spec} has no curve"),
            })?;
            public_template.push(Attribute::EcParams(params));
            let mech = if spec == KeySpec::Ed25519 {
                Mechanism::EccEdwardsKeyPairGen
            } else {
                Mechanism::EccKeyPairGen
            };
            self.with_session(&context, |s, _| {
                s.generate_key_pair(&mech, &public_template, &private_template)
            })?;
        }
        tracing::info!(token = %self.label(), key = label, %spec, "generated key in HSM");
        Ok(KeyRef {
            label: label.to_string(),
            id,
            spec,
        })
    }

    fn label_in_use(&self, label: &str) -> Result<bool> {
        self.with_session("looking up a key label", |s, _| {
            Ok(!s
                .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])?
                .is_empty())
        })
    }

    /// Finds a signing key pair or secret key by its `CKA_ID`.
    pub fn find_key_by_id(&self, id: &[u8]) -> Result<KeyRef> {
        let label = self.with_session("finding a key by id", |s, _| {
            for class in [ObjectClass::PRIVATE_KEY, ObjectClass::SECRET_KEY] {
                let found =
                    s.find_objects(&[Attribute::Class(class), Attribute::Id(id.to_vec())])?;
                if let Some(h) = found.into_iter().next() {
                    let label = s
                        .get_attributes(h, &[AttributeType::Label])?
                        .into_iter()
                        .find_map(|a| match a {
                            Attribute::Label(l) => Some(String::from_utf8_lossy(&l).into_owned()),
                            _ => None,
                        });
                    return Ok(label);
                }
            }
            Ok(None)
        })?;
        match label {
            Some(l) => self.find_key(&l),
            None => Err(Error::KeyNotFound(format!("id {}", hex_id(id)))),
        }
    }

    /// Finds a signing key pair or secret key by label.
    pub fn find_key(&self, label: &str) -> Result<KeyRef> {
        let found = self.with_session("finding a key", |s, _| {
            let h = match find_one(s, ObjectClass::PRIVATE_KEY, label)? {
                Some(h) => Some(h),
                None => find_one(s, ObjectClass::SECRET_KEY, label)?,
            };
            match h {
                None => Ok(None),
                Some(h) => {
                    let spec = spec_of(s, h)?;
                    let id = s
                        .get_attributes(h, &[AttributeType::Id])?
                        .into_iter()
                        .find_map(|a| match a {
                            Attribute::Id(v) => Some(v),
                            _ => None,
                        })
                        .unwrap_or_default();
                    Ok(Some((spec, id)))
                }
            }
        })?;
        match found {
            None => Err(Error::KeyNotFound(label.to_string())),
            Some((None, _)) => Err(Error::Malformed(format!(
                "key {label:?} is of a type hsmca does not use"
            ))),
            Some((Some(spec), id)) => Ok(KeyRef {
                label: label.to_string(),
                id,
                spec,
            }),
        }
    }

    /// Every private, public and secret key object on the token.
    pub fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        self.with_session("listing keys", |s, _| {
            let mut out = Vec::new();
            for (class, name) in [
                (ObjectClass::PRIVATE_KEY, "private"),
                (ObjectClass::PUBLIC_KEY, "public"),
                (ObjectClass::SECRET_KEY, "secret"),
            ] {
                for h in s.find_objects(&[Attribute::Class(class)])? {
                    let spec = spec_of(s, h)?;
                    let mut info = KeyInfo {
                        label: String::new(),
                        id: Vec::new(),
                        class: name,
                        spec,
                        sensitive: None,
                        extractable: None,
                    };
                    let wanted: &[AttributeType] = if name == "public" {
                        &[AttributeType::Label, AttributeType::Id]
                    } else {
                        &[
                            AttributeType::Label,
                            AttributeType::Id,
                            AttributeType::Sensitive,
                            AttributeType::Extractable,
                        ]
                    };
                    for a in s.get_attributes(h, wanted)? {
                        match a {
                            Attribute::Label(l) => {
                                info.label = String::from_utf8_lossy(&l).into_owned()
                            }
                            Attribute::Id(i) => info.id = i,
                            Attribute::Sensitive(b) => info.sensitive = Some(b),
                            Attribute::Extractable(b) => info.extractable = Some(b),
                            _ => {}
                        }
                    }
                    out.push(info);
                }
            }
            out.sort_by(|a, b| a.label.cmp(&b.label).then(a.class.cmp(b.class)));
            Ok(out)
        })
    }

    /// The public half of a key pair, as a DER SubjectPublicKeyInfo.
    pub fn public_key(&self, key: &KeyRef) -> Result<PublicKey> {
        if !key.spec.is_signing() {
            return Err(Error::Invalid {
                what: "key",
                reason: format!("{:?} is a secret key and has no public half", key.label),
            });
        }
        let attrs = self.with_session("reading a public key", |s, _| {
            match find_one(s, ObjectClass::PUBLIC_KEY, &key.label)? {
                None => Ok(None),
                Some(h) => s
                    .get_attributes(
                        h,
                        &[
                            AttributeType::Modulus,
                            AttributeType::PublicExponent,
                            AttributeType::EcPoint,
                        ],
                    )
                    .map(Some),
            }
        })?;
        let attrs =
            attrs.ok_or_else(|| Error::KeyNotFound(format!("{} (public half)", key.label)))?;
        let mut modulus = None;
        let mut exponent = None;
        let mut point = None;
        for a in attrs {
            match a {
                Attribute::Modulus(m) => modulus = Some(m),
                Attribute::PublicExponent(e) => exponent = Some(e),
                Attribute::EcPoint(p) => point = Some(p),
                _ => {}
            }
        }
        if key.spec.rsa_bits().is_some() {
            let (n, e) = modulus.zip(exponent).ok_or_else(|| {
                Error::Malformed("RSA public key without modulus or exponent".into())
            })?;
            PublicKey::from_rsa(key.spec, &n, &e)
        } else {
            let p = point.ok_or_else(|| Error::Malformed("EC public key without point".into()))?;
            PublicKey::from_ec_point(key.spec, &p)
        }
    }
}
