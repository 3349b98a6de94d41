//! Lints run on the to-be-signed certificate before the HSM sees it. A failing lint refuses
//! to sign. These are the RFC 5280 essentials that every certificate this CA makes must meet;
//! profile-specific lints build on them.

use std::collections::HashSet;

use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_KEY_USAGE,
    ID_CE_SUBJECT_KEY_IDENTIFIER,
};
use der::Decode;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::ext::Extension;

use crate::error::{Error, Result};
use crate::time::from_x509;

/// Facts about the issuer that lints compare against.
#[derive(Debug, Clone)]
pub struct IssuerFacts {
    /// Whether issuer and subject are the same entity (self-signed).
    pub self_signed: bool,
    /// End of the issuer certificate's validity; `None` for a self-signed certificate.
    pub not_after: Option<chrono::NaiveDateTime>,
}

fn fail(lint: &'static str, detail: impl Into<String>) -> Error {
    Error::Lint {
        lint,
        detail: detail.into(),
    }
}

fn find(exts: &[Extension], oid: const_oid::ObjectIdentifier) -> Option<&Extension> {
    exts.iter().find(|e| e.extn_id == oid)
}

/// Runs the lints on DER-encoded TBSCertificate bytes.
pub fn lint_tbs(tbs_der: &[u8], issuer: &IssuerFacts) -> Result<TbsCertificate> {
    let tbs = TbsCertificate::from_der(tbs_der)
        .map_err(|e| fail("e_tbs_decodes", format!("TBS does not decode: {e}")))?;
    if tbs.version() != Version::V3 {
        return Err(fail(
            "e_version_v3",
            "certificates with extensions must be v3",
        ));
    }
    let serial = tbs.serial_number().as_bytes();
    if serial.is_empty() || serial.iter().all(|b| *b == 0) {
        return Err(fail("e_serial_positive", "serial must be positive"));
    }
    if serial.len() + usize::from(serial[0] & 0x80 != 0) > 20 {
        return Err(fail("e_serial_length", "serial longer than 20 octets"));
    }
    let nb = from_x509(&tbs.validity().not_before);
    let na = from_x509(&tbs.validity().not_after);
    if nb >= na {
        return Err(fail(
            "e_validity_order",
            format!("notBefore {nb} is not before notAfter {na}"),
        ));
    }
    if let Some(limit) = issuer.not_after {
        if na > limit {
            return Err(fail(
                "e_validity_within_issuer",
                format!("notAfter {na} is after the issuer's notAfter {limit}"),
            ));
        }
    }
    if tbs.issuer().is_empty() {
        return Err(fail("e_issuer_dn_not_empty", "issuer name is empty"));
    }
    let exts: &[Extension] = tbs.extensions().map(|e| e.as_slice()).unwrap_or(&[]);
    let mut seen = HashSet::new();
    for e in exts {
        if !seen.insert(e.extn_id) {
            return Err(fail(
                "e_ext_duplicate",
                format!("extension {} appears twice", e.extn_id),
            ));
        }
    }
    let bc = match find(exts, ID_CE_BASIC_CONSTRAINTS) {
        Some(e) => Some((
            e.critical,
            BasicConstraints::from_der(e.extn_value.as_bytes())
                .map_err(|x| fail("e_basic_constraints_decodes", x.to_string()))?,
        )),
        None => None,
    };
    let is_ca = bc.as_ref().is_some_and(|(_, b)| b.ca);
    if is_ca {
        if !bc.as_ref().is_some_and(|(c, _)| *c) {
            return Err(fail(
                "e_ca_basic_constraints_critical",
                "basicConstraints must be critical in a CA certificate",
            ));
        }
        if tbs.subject().is_empty() {
            return Err(fail(
                "e_ca_subject_not_empty",
                "a CA certificate needs a subject",
            ));
        }
        let ku = find(exts, ID_CE_KEY_USAGE)
            .ok_or_else(|| fail("e_ca_key_usage_present", "a CA certificate needs keyUsage"))?;
        let ku = KeyUsage::from_der(ku.extn_value.as_bytes())
            .map_err(|x| fail("e_key_usage_decodes", x.to_string()))?;
        if !ku.key_cert_sign() {
            return Err(fail(
                "e_ca_key_cert_sign",
                "a CA certificate needs keyCertSign",
            ));
        }
        if find(exts, ID_CE_SUBJECT_KEY_IDENTIFIER).is_none() {
            return Err(fail(
                "e_ca_subject_key_identifier",
                "a CA certificate needs subjectKeyIdentifier",
            ));
        }
    } else if let Some(e) = find(exts, ID_CE_KEY_USAGE) {
        let ku = KeyUsage::from_der(e.extn_value.as_bytes())
            .map_err(|x| fail("e_key_usage_decodes", x.to_string()))?;
        if ku.key_cert_sign() {
            return Err(fail(
                "e_key_cert_sign_without_ca",
                "keyCertSign without basicConstraints cA",
            ));
        }
    }
    if !issuer.self_signed && find(exts, ID_CE_AUTHORITY_KEY_IDENTIFIER).is_none() {
        return Err(fail(
            "e_authority_key_identifier",
            "authorityKeyIdentifier is required",
        ));
    }
    Ok(tbs)
}
