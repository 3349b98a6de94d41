//! CSR intake (RFC 2986): step one of issuance. Parse, verify proof of possession, expose what
//! was asked for. Nothing here allocates a serial or stores anything.
//!
//! ```text
//! CertificationRequest ::= SEQUENCE {
//!      certificationRequestInfo CertificationRequestInfo,
//!      signatureAlgorithm AlgorithmIdentifier{{ SignatureAlgorithms }},
//!      signature          BIT STRING }
//! CertificationRequestInfo ::= SEQUENCE {
//!      version       INTEGER { v1(0) } (v1,...),
//!      subject       Name,
//!      subjectPKInfo SubjectPublicKeyInfo{{ PKInfoAlgorithms }},
//!      attributes    [0] Attributes{{ CRIAttributes }} }
//! ```
//! [`parse_csr`] takes PEM or DER (`csr/input.rs`: size limit, framing, strict DER), checks the
//! signature algorithm and verifies the signature (`csr/signature.rs`) with the request's own key
//! (decoded by [`crate::keycheck`], which refuses keys no policy accepts, so an unusable key gets
//! a reason, not "bad signature"), and decodes the extensionRequest (`csr/requested.rs`).
//! The key policy ([`crate::keycheck::check_public_key`]) and the subject bounds
//! ([`check_subject`]) are separate steps for the caller.

mod input;
mod requested;
mod signature;
mod subject;

use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::request::CertReq;

pub use input::MAX_CSR_INPUT;
pub use requested::RequestedSan;
pub use signature::{CsrSignatureAlgorithm, HashAlgorithm};
pub use subject::check_subject;

use crate::error::Result;
use crate::keycheck::decode::decode_subject_key;
use input::refuse;

/// A CSR whose encoding, signature algorithm and signature were checked. Read-only.
#[derive(Debug, Clone)]
pub struct ParsedCsr {
    der: Vec<u8>,
    request: CertReq,
    signature_algorithm: CsrSignatureAlgorithm,
    extensions: Vec<Extension>,
    sans: Vec<RequestedSan>,
}

impl ParsedCsr {
    /// The requested subject.
    pub fn subject(&self) -> &Name {
        &self.request.info.subject
    }

    /// The subject public key (its signature over the request verified).
    pub fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.request.info.public_key
    }

    /// The extensions of the PKCS#9 extensionRequest attribute (empty without one).
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The requested subjectAltName entries (empty without one).
    pub fn sans(&self) -> &[RequestedSan] {
        &self.sans
    }

    /// The algorithm the request was signed with.
    pub fn signature_algorithm(&self) -> CsrSignatureAlgorithm {
        self.signature_algorithm
    }

    /// The DER of the whole request (decoded from PEM if it came as PEM).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The whole decoded request, for attributes other than extensionRequest.
    pub fn request(&self) -> &CertReq {
        &self.request
    }
}

/// Parses a CSR in PEM or DER and verifies its signature (proof of possession).
///
/// Refuses with [`crate::Error::Invalid`]: empty input, input over [`MAX_CSR_INPUT`] (before
/// parsing), anything but one PEM block or one DER value, BER, versions other than v1, MD5 and
/// SHA-1 signatures, keys no policy accepts, a signature that does not verify, a malformed
/// extensionRequest or subjectAltName.
pub fn parse_csr(input: &[u8]) -> Result<ParsedCsr> {
    let der = input::csr_der(input)?;
    let request = CertReq::from_der(&der).map_err(|e| match input::peek_version(&der) {
        Some(v) if v != 0 => refuse(format!(
            "unknown version {v}: only v1 (0) is defined (RFC 2986 §4.1)"
        )),
        _ => refuse(format!("does not decode as a CertificationRequest: {e}")),
    })?;
    // Strict DER both ways: what we decoded re-encodes to the very bytes we were sent, so the
    // signature below is checked over exactly the certificationRequestInfo that was signed.
    if request.to_der()? != der {
        return Err(refuse("is not in canonical DER"));
    }
    let signature_algorithm = signature::signature_algorithm(&request.algorithm)?;
    let key = decode_subject_key(&request.info.public_key)?;
    let signed = request.info.to_der()?;
    let signature_bytes = request
        .signature
        .as_bytes()
        .ok_or_else(|| refuse("signature BIT STRING has unused bits"))?;
    let raw_key = request
        .info
        .public_key
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| refuse("public key BIT STRING has unused bits"))?;
    signature::verify(signature_algorithm, &key, raw_key, &signed, signature_bytes)?;
    let extensions = requested::requested_extensions(&request.info.attributes)?;
    let sans = requested::requested_sans(&extensions)?;
    Ok(ParsedCsr {
        der,
        request,
        signature_algorithm,
        extensions,
        sans,
    })
}
