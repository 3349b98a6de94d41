//! Profile lints, run on the to-be-signed certificate after the RFC 5280 essentials of
//! [`crate::lint`]: required and forbidden extensions, validity within the profile, and the
//! Baseline Requirements essentials for TLS server certificates.

use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CERTIFICATE_POLICIES,
    ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE, ID_CE_NAME_CONSTRAINTS,
    ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_KP_SERVER_AUTH,
    ID_PE_AUTHORITY_INFO_ACCESS,
};
use const_oid::db::rfc6960::ID_PKIX_OCSP_NOCHECK;
use const_oid::ObjectIdentifier;
use profiles::{ExtensionName, Profile};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, SubjectAltName};

use super::san::San;
use super::subject::subject_parts;
use crate::error::{Error, Result};
use crate::time::from_x509;

/// The OID of a named extension.
pub fn extension_oid(e: ExtensionName) -> ObjectIdentifier {
    match e {
        ExtensionName::BasicConstraints => ID_CE_BASIC_CONSTRAINTS,
        ExtensionName::KeyUsage => ID_CE_KEY_USAGE,
        ExtensionName::ExtendedKeyUsage => ID_CE_EXT_KEY_USAGE,
        ExtensionName::SubjectAltName => ID_CE_SUBJECT_ALT_NAME,
        ExtensionName::SubjectKeyIdentifier => ID_CE_SUBJECT_KEY_IDENTIFIER,
        ExtensionName::AuthorityKeyIdentifier => ID_CE_AUTHORITY_KEY_IDENTIFIER,
        ExtensionName::CrlDistributionPoints => ID_CE_CRL_DISTRIBUTION_POINTS,
        ExtensionName::FreshestCrl => const_oid::db::rfc5280::ID_CE_FRESHEST_CRL,
        ExtensionName::AuthorityInfoAccess => ID_PE_AUTHORITY_INFO_ACCESS,
        ExtensionName::CertificatePolicies => ID_CE_CERTIFICATE_POLICIES,
        ExtensionName::NameConstraints => ID_CE_NAME_CONSTRAINTS,
        ExtensionName::OcspNoCheck => ID_PKIX_OCSP_NOCHECK,
    }
}

/// A readable name for an extension OID.
pub fn extension_label(oid: &ObjectIdentifier) -> String {
    const_oid::db::DB
        .by_oid(oid)
        .map(|n| format!("{n} ({oid})"))
        .unwrap_or_else(|| oid.to_string())
}

fn fail(lint: &'static str, detail: impl Into<String>) -> Error {
    Error::Lint {
        lint,
        detail: detail.into(),
    }
}

/// Runs the profile lints on a decoded TBS.
pub fn lint_profile(tbs: &TbsCertificate, profile: &Profile) -> Result<()> {
    let exts = tbs.extensions().map(|e| e.as_slice()).unwrap_or(&[]);
    let has = |oid: ObjectIdentifier| exts.iter().any(|e| e.extn_id == oid);
    for e in &profile.required_extensions {
        if !has(extension_oid(*e)) {
            return Err(fail(
                "e_profile_required_extension",
                format!("profile {} requires {e:?}", profile.name),
            ));
        }
    }
    for e in &profile.forbidden_extensions {
        if has(extension_oid(*e)) {
            return Err(fail(
                "e_profile_forbidden_extension",
                format!("profile {} forbids {e:?}", profile.name),
            ));
        }
    }
    let nb = from_x509(&tbs.validity().not_before);
    let na = from_x509(&tbs.validity().not_after);
    // RFC 5280 validity includes both ends: (na − nb) + 1 second.
    let seconds = (na - nb).num_seconds() + 1;
    if seconds > i64::from(profile.validity.max_days) * 86_400 {
        return Err(fail(
            "e_validity_within_profile",
            format!(
                "{seconds} seconds exceeds the {} days of profile {}",
                profile.validity.max_days, profile.name
            ),
        ));
    }
    crate::csr::check_subject(tbs.subject())
        .map_err(|e| fail("e_subject_attribute", e.to_string()))?;
    let eku = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(|e| fail("e_eku_decodes", e.to_string()))?;
    if profile.kind != profiles::Kind::SubCa {
        lint_key_usage_fits_purposes(tbs, eku.as_ref().map(|(_, e)| &e.0[..]))?;
    }
    let server_auth = eku
        .as_ref()
        .is_some_and(|(_, e)| e.0.contains(&ID_KP_SERVER_AUTH));
    if server_auth {
        lint_tls_server(tbs)?;
    }
    Ok(())
}

/// KU/EKU consistency of an end-entity certificate (RFC 5280 §4.2.1.12), as the
/// certificate itself says.
fn lint_key_usage_fits_purposes(
    tbs: &TbsCertificate,
    eku: Option<&[ObjectIdentifier]>,
) -> Result<()> {
    let ku = tbs
        .get_extension::<KeyUsage>()
        .map_err(|e| fail("e_key_usage_decodes", e.to_string()))?;
    match ku {
        Some((_, ku)) => key_usage_fits_purposes(&ku, eku.unwrap_or(&[])),
        None => Ok(()),
    }
}

/// With [`profiles::key_usage_mismatch`]: a purpose none of the keyUsage bits serves, or
/// a bit that serves none of the purposes, fails. Purposes hsmca does not know are left
/// out of the comparison.
fn key_usage_fits_purposes(ku: &KeyUsage, eku: &[ObjectIdentifier]) -> Result<()> {
    let purposes: Vec<profiles::Purpose> = eku
        .iter()
        .filter_map(|oid| {
            profiles::Purpose::ALL
                .into_iter()
                .find(|p| super::template::purpose_oid(*p) == *oid)
        })
        .collect();
    let bits: Vec<profiles::KeyUsageBit> = [
        (
            ku.digital_signature(),
            profiles::KeyUsageBit::DigitalSignature,
        ),
        (ku.non_repudiation(), profiles::KeyUsageBit::NonRepudiation),
        (
            ku.key_encipherment(),
            profiles::KeyUsageBit::KeyEncipherment,
        ),
        (
            ku.data_encipherment(),
            profiles::KeyUsageBit::DataEncipherment,
        ),
        (ku.key_agreement(), profiles::KeyUsageBit::KeyAgreement),
        (ku.key_cert_sign(), profiles::KeyUsageBit::KeyCertSign),
        (ku.crl_sign(), profiles::KeyUsageBit::CrlSign),
    ]
    .into_iter()
    .filter_map(|(set, bit)| set.then_some(bit))
    .collect();
    match profiles::key_usage_mismatch(&bits, &purposes) {
        Some(why) => Err(fail("e_ku_eku_consistent", why)),
        None => Ok(()),
    }
}

/// BR §7.1.2.7 essentials for TLS server certificates.
fn lint_tls_server(tbs: &TbsCertificate) -> Result<()> {
    let san = tbs
        .get_extension::<SubjectAltName>()
        .map_err(|e| fail("e_san_decodes", e.to_string()))?
        .ok_or_else(|| {
            fail(
                "e_br_san_present",
                "TLS server certificates need subjectAltName",
            )
        })?
        .1;
    if san.0.is_empty() {
        return Err(fail("e_br_san_present", "subjectAltName is empty"));
    }
    // Only dNSName and iPAddress; their text forms, as a CN would carry them.
    let mut names = Vec::new();
    for g in &san.0 {
        match San::from_general_name(g) {
            Some(San::Dns(d)) => names.push(d),
            Some(San::Ip(a)) => names.push(a.to_string()),
            _ => {
                return Err(fail(
                    "e_br_san_types",
                    "only dNSName and iPAddress are allowed",
                ))
            }
        }
    }
    for p in subject_parts(tbs.subject())? {
        // A copy of a SAN value, byte for byte (BR §7.1.4.3), not just equal without case.
        if p.attr == profiles::SubjectAttr::CN && !names.contains(&p.value) {
            return Err(fail(
                "e_br_cn_in_san",
                format!("CN {:?} is not a copy of a SAN", p.value),
            ));
        }
    }
    if let Some((_, ku)) = tbs
        .get_extension::<KeyUsage>()
        .map_err(|e| fail("e_key_usage_decodes", e.to_string()))?
    {
        let spki = tbs.subject_public_key_info();
        let is_rsa = spki.algorithm.oid == const_oid::db::rfc5912::RSA_ENCRYPTION;
        if !is_rsa && ku.key_encipherment() {
            return Err(fail(
                "e_br_ku_ec_key_encipherment",
                "keyEncipherment on a non-RSA key",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use const_oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_OCSP_SIGNING, ID_KP_SERVER_AUTH};
    use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

    use super::key_usage_fits_purposes;
    use crate::error::Error;

    fn lint_name(r: crate::error::Result<()>) -> Option<&'static str> {
        match r {
            Err(Error::Lint { lint, .. }) => Some(lint),
            Err(other) => panic!("not a lint failure: {other}"),
            Ok(()) => None,
        }
    }

    #[test]
    fn key_usage_that_does_not_suit_the_purposes_fails_the_lint() {
        let ds = KeyUsage(KeyUsages::DigitalSignature.into());
        let ds_ke = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment);
        let de = KeyUsage(KeyUsages::DataEncipherment.into());
        assert_eq!(
            lint_name(key_usage_fits_purposes(&ds, &[ID_KP_SERVER_AUTH])),
            None
        );
        assert_eq!(
            lint_name(key_usage_fits_purposes(&ds_ke, &[ID_KP_SERVER_AUTH])),
            None
        );
        assert_eq!(lint_name(key_usage_fits_purposes(&de, &[])), None);
        assert_eq!(
            lint_name(key_usage_fits_purposes(&ds_ke, &[ID_KP_CLIENT_AUTH])),
            Some("e_ku_eku_consistent")
        );
        assert_eq!(
            lint_name(key_usage_fits_purposes(&de, &[ID_KP_OCSP_SIGNING])),
            Some("e_ku_eku_consistent")
        );
    }
}
