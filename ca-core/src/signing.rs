//! The adapter between an HSM [`Signer`] and x509-cert's builder traits.
//!
//! x509-cert's builders ask the signer for its algorithm identifier and public key
//! (`DynSignatureAlgorithmIdentifier + Keypair`) when producing the to-be-signed bytes; the
//! signing itself happens separately in [`CaKey::sign`], so the TBS can be recorded first.

use std::sync::Arc;

use der::Decode;
use hsm_backend::{SignatureScheme, Signer};
use spki::{AlgorithmIdentifierOwned, Document, EncodePublicKey, SubjectPublicKeyInfoOwned};

use crate::algorithm::algorithm_identifier;
use crate::error::{Error, Result};

/// A CA signing key: an HSM signer plus its algorithm identifier and public key.
#[derive(Clone)]
pub struct CaKey {
    signer: Arc<dyn Signer>,
    algorithm: AlgorithmIdentifierOwned,
    algorithm_der: Vec<u8>,
    spki: SubjectPublicKeyInfoOwned,
}

impl std::fmt::Debug for CaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaKey")
            .field("scheme", &self.signer.scheme())
            .finish()
    }
}

/// The public half as x509-cert's builders want it.
#[derive(Clone, Debug)]
pub struct SpkiKey(SubjectPublicKeyInfoOwned);

impl EncodePublicKey for SpkiKey {
    fn to_public_key_der(&self) -> spki::Result<Document> {
        Ok(Document::encode_msg(&self.0)?)
    }
}

impl CaKey {
    /// Wraps a signer.
    pub fn new(signer: Arc<dyn Signer>) -> Result<Self> {
        let algorithm = algorithm_identifier(signer.scheme())?;
        let spki = SubjectPublicKeyInfoOwned::from_der(&signer.public_key().spki_der)?;
        Ok(CaKey {
            signer,
            algorithm_der: der::Encode::to_der(&algorithm)?,
            algorithm,
            spki,
        })
    }

    /// The key labelled `key_label` in `token`, signing with the scheme named `scheme` (as
    /// stored with a CA: `ecdsa-sha256`, …).
    pub fn open(token: &Arc<hsm_backend::Token>, key_label: &str, scheme: &str) -> Result<Self> {
        let key = token.find_key(key_label)?;
        let scheme = SignatureScheme::parse(scheme)?;
        CaKey::new(Arc::new(token.signer(&key, scheme)?))
    }

    /// The scheme.
    pub fn scheme(&self) -> SignatureScheme {
        self.signer.scheme()
    }

    /// The signature AlgorithmIdentifier.
    pub fn algorithm(&self) -> &AlgorithmIdentifierOwned {
        &self.algorithm
    }

    /// DER of the signature AlgorithmIdentifier.
    pub fn algorithm_der(&self) -> &[u8] {
        &self.algorithm_der
    }

    /// The public key.
    pub fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    /// DER of the public key.
    pub fn spki_der(&self) -> &[u8] {
        &self.signer.public_key().spki_der
    }

    /// Signs in the HSM.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.signer.sign(message).map_err(Error::Hsm)
    }

    /// Signs in the HSM a message given as its digest under the scheme's hash
    /// ([`SignatureScheme::prehash`]); `Hsm(Invalid)` for schemes without one.
    pub fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>> {
        self.signer.sign_prehashed(digest).map_err(Error::Hsm)
    }
}

impl signature::Keypair for CaKey {
    type VerifyingKey = SpkiKey;
    fn verifying_key(&self) -> SpkiKey {
        SpkiKey(self.spki.clone())
    }
}

impl spki::DynSignatureAlgorithmIdentifier for CaKey {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.algorithm.clone())
    }
}
