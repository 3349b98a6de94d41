//! Building a signed BasicOCSPResponse (RFC 6960 §4.2.1) with an HSM-held key, and the
//! CertID an issuer answers for (RFC 6960 §4.1.1).

use chrono::NaiveDateTime;
use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256};
use const_oid::db::rfc6960::ID_PKIX_OCSP_BASIC;
use der::asn1::{BitString, GeneralizedTime, OctetString};
use der::{Decode, Encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use super::asn1::{
    CertId, OcspResponse, OcspResponseStatus, ResponderId, ResponseBytes, ResponseData,
    SingleResponse, Version,
};
use crate::error::{Error, Result};
use crate::signing::CaKey;
use hsm_backend::SignatureScheme;

/// Whether `id` names a certificate issued by `issuer` (name and key hashes match under the
/// CertID's hash algorithm, SHA-1 or SHA-256).
pub fn cert_id_matches_issuer(id: &CertId, issuer: &Certificate) -> Result<bool> {
    let tbs = issuer.tbs_certificate();
    let name = tbs.subject().to_der()?;
    let key = tbs.subject_public_key_info().subject_public_key.raw_bytes();
    let (n, k) = match id.hash_algorithm.oid {
        ID_SHA_1 => (Sha1::digest(&name).to_vec(), Sha1::digest(key).to_vec()),
        ID_SHA_256 => (Sha256::digest(&name).to_vec(), Sha256::digest(key).to_vec()),
        other => {
            return Err(Error::invalid(
                "CertID",
                format!("hash algorithm {other} is not SHA-1 or SHA-256"),
            ))
        }
    };
    Ok(id.issuer_name_hash.as_bytes() == n && id.issuer_key_hash.as_bytes() == k)
}

fn gtime(t: NaiveDateTime) -> Result<GeneralizedTime> {
    let secs = u64::try_from(t.and_utc().timestamp())
        .map_err(|_| Error::invalid("time", "before 1970"))?;
    Ok(GeneralizedTime::from_unix_duration(
        std::time::Duration::from_secs(secs),
    )?)
}

/// `BasicOCSPResponse` (RFC 6960 §4.2.1, see [`super::asn1::BasicOcspResponse`]) as it is written: the
/// signed `ResponseData` as its exact encoded bytes, and the responder certificate as its
/// DER, so neither is decoded or copied again per response.
#[derive(der::Sequence)]
struct SignedBasicResponse<'a> {
    tbs_response_data: der::asn1::AnyRef<'a>,
    signature_algorithm: spki::AlgorithmIdentifierOwned,
    signature: BitString,
    #[asn1(context_specific = "0", optional = "true")]
    certs: Option<Vec<der::asn1::AnyRef<'a>>>,
}

/// Signs `responses` as a successful OCSPResponse, the responder identified by key hash
/// (RFC 6960 §4.2.2.3), optionally with the delegated responder's certificate (DER)
/// attached.
pub fn sign_response(
    key: &CaKey,
    responses: Vec<SingleResponse>,
    produced_at: NaiveDateTime,
    response_extensions: Option<x509_cert::ext::Extensions>,
    responder_cert_der: Option<&[u8]>,
) -> Result<Vec<u8>> {
    let key_hash = Sha1::digest(key.spki().subject_public_key.raw_bytes());
    let tbs = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByKey(OctetString::new(key_hash.to_vec())?),
        produced_at: gtime(produced_at)?,
        responses,
        response_extensions,
    };
    let tbs_der = tbs.to_der()?;
    let signature = key.sign(&tbs_der)?;
    // RSA and EdDSA signatures are checked before they leave: a faulty RSA-CRT signature
    // discloses the private key, a faulty deterministic EdDSA one can too. A faulty ECDSA
    // signature (random nonce) only fails at the client, and checking one costs as much as
    // making it; OCSP responses are short-lived and re-signed at half-life, so ECDSA ones
    // are not re-verified here (certificates and CRLs always are).
    if !matches!(
        key.scheme(),
        SignatureScheme::EcdsaSha256 | SignatureScheme::EcdsaSha384
    ) {
        crate::verify::verify_signature(key.scheme(), key.spki_der(), &tbs_der, &signature)
            .map_err(|detail| Error::BadSignature {
                serial: "OCSP response".into(),
                detail,
            })?;
    }
    let basic = SignedBasicResponse {
        tbs_response_data: der::asn1::AnyRef::from_der(&tbs_der)?,
        signature_algorithm: key.algorithm().clone(),
        signature: BitString::from_bytes(&signature)?,
        certs: responder_cert_der
            .map(|c| der::asn1::AnyRef::from_der(c).map(|a| vec![a]))
            .transpose()?,
    };
    Ok(OcspResponse {
        response_status: OcspResponseStatus::Successful,
        response_bytes: Some(ResponseBytes {
            response_type: ID_PKIX_OCSP_BASIC,
            response: OctetString::new(basic.to_der()?)?,
        }),
    }
    .to_der()?)
}

/// An unsigned error response (`malformedRequest`, `unauthorized`, …).
pub fn error_response(status: OcspResponseStatus) -> Result<Vec<u8>> {
    Ok(OcspResponse {
        response_status: status,
        response_bytes: None,
    }
    .to_der()?)
}

/// `thisUpdate`/`nextUpdate` helpers for callers.
pub fn generalized(t: NaiveDateTime) -> Result<GeneralizedTime> {
    gtime(t)
}
