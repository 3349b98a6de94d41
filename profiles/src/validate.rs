//! Checks that a profile is coherent; the error names the field.

use std::collections::HashSet;

use const_oid::ObjectIdentifier;

use crate::error::{Error, Result};
use crate::model::{ExtensionName, KeyUsageBit, Kind, Profile, Purpose, SanType, SubjectAttr};

/// The largest RSA public exponent a key policy accepts (2^33 - 1, as ca-core's key
/// checks: larger ones are refused there, so a profile listing one could issue nothing).
const MAX_RSA_EXPONENT: u64 = (1 << 33) - 1;

/// Longest validity any profile may allow: 100 years.
pub const MAX_VALIDITY_DAYS: u32 = 36_500;

pub(crate) fn validate(p: &Profile) -> Result<()> {
    let bad = |field: &str, reason: String| Error::Invalid {
        profile: p.name.clone(),
        field: field.to_string(),
        reason,
    };
    let name_ok = !p.name.is_empty()
        && p.name.len() <= 64
        && p.name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !name_ok {
        return Err(bad(
            "name",
            format!("{:?} must be 1 to 64 of a-z, 0-9 and '-'", p.name),
        ));
    }

    let v = &p.validity;
    if v.max_days == 0 || v.max_days > MAX_VALIDITY_DAYS {
        return Err(bad(
            "validity.max_days",
            format!("{} is outside 1 to {MAX_VALIDITY_DAYS}", v.max_days),
        ));
    }
    if v.default_days == 0 || v.default_days > v.max_days {
        return Err(bad(
            "validity.default_days",
            format!(
                "{} is outside 1 to max_days ({})",
                v.default_days, v.max_days
            ),
        ));
    }
    if v.backdate_seconds > 86_400 {
        return Err(bad(
            "validity.backdate_seconds",
            format!("{} is more than 86400", v.backdate_seconds),
        ));
    }

    let k = &p.keys;
    if k.allowed.is_empty() {
        return Err(bad("keys.allowed", "no key kind is allowed".into()));
    }
    if k.rsa_min_bits < 2048 || !k.rsa_min_bits.is_multiple_of(8) {
        return Err(bad(
            "keys.rsa_min_bits",
            format!(
                "{} must be at least 2048 and a multiple of 8",
                k.rsa_min_bits
            ),
        ));
    }
    if k.rsa_max_bits < k.rsa_min_bits || k.rsa_max_bits > 16_384 {
        return Err(bad(
            "keys.rsa_max_bits",
            format!("{} must be between rsa_min_bits and 16384", k.rsa_max_bits),
        ));
    }
    if k.rsa_exponents.is_empty()
        || k.rsa_exponents
            .iter()
            .any(|e| *e < 3 || e.is_multiple_of(2) || *e > MAX_RSA_EXPONENT)
    {
        return Err(bad(
            "keys.rsa_exponents",
            format!(
                "{:?}: each exponent must be odd, at least 3 and at most 2^33 - 1",
                k.rsa_exponents
            ),
        ));
    }

    if p.key_usage.is_empty() {
        return Err(bad(
            "key_usage",
            "at least one keyUsage bit is needed".into(),
        ));
    }
    let ca_bits = [KeyUsageBit::KeyCertSign, KeyUsageBit::CrlSign];
    match p.kind {
        Kind::EndEntity => {
            if let Some(b) = p.key_usage.iter().find(|b| ca_bits.contains(b)) {
                return Err(bad(
                    "key_usage",
                    format!("{b:?} is for CA certificates; this is an end-entity profile"),
                ));
            }
            if p.ca.is_some() {
                return Err(bad("ca", "only sub-ca profiles have a [ca] section".into()));
            }
        }
        Kind::SubCa => {
            if !p.key_usage.contains(&KeyUsageBit::KeyCertSign) {
                return Err(bad(
                    "key_usage",
                    "a sub-ca profile needs keyCertSign".into(),
                ));
            }
            let ca =
                p.ca.as_ref()
                    .ok_or_else(|| bad("ca", "a sub-ca profile needs a [ca] section".into()))?;
            for (field, names) in [
                ("ca.permitted_dns", &ca.permitted_dns),
                ("ca.excluded_dns", &ca.excluded_dns),
            ] {
                for n in names {
                    let ok = !n.is_empty()
                        && n.len() <= 253
                        && n.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                    if !ok {
                        return Err(bad(field, format!("{n:?} is not a DNS name")));
                    }
                }
            }
        }
    }
    // A CA's extendedKeyUsage constrains what it may issue, not its own key's use.
    if p.kind != Kind::SubCa {
        if let Some(why) = crate::model::key_usage_mismatch(&p.key_usage, &p.extended_key_usage) {
            return Err(bad("extended_key_usage", why));
        }
    }
    if p.extended_key_usage_critical && p.extended_key_usage.is_empty() {
        return Err(bad(
            "extended_key_usage_critical",
            "set, but extended_key_usage is empty".into(),
        ));
    }
    if p.ocsp_no_check && !p.extended_key_usage.contains(&Purpose::OcspSigning) {
        return Err(bad(
            "ocsp_no_check",
            "only OCSP signing certificates (extended_key_usage OCSPSigning) carry it".into(),
        ));
    }
    for (i, oid) in p.certificate_policies.iter().enumerate() {
        ObjectIdentifier::new(oid).map_err(|e| {
            bad(
                &format!("certificate_policies[{i}]"),
                format!("{oid:?} is not a dotted OID: {e}"),
            )
        })?;
    }

    let allowed: HashSet<_> = p.subject.allowed.iter().collect();
    if let Some(a) = p.subject.required.iter().find(|a| !allowed.contains(a)) {
        return Err(bad(
            "subject.required",
            format!("{a:?} is required but not in subject.allowed"),
        ));
    }
    let cn_allowed = allowed.contains(&SubjectAttr::CN);
    let dns_or_ip = p
        .san
        .allowed
        .iter()
        .any(|t| matches!(t, SanType::Dns | SanType::Ip));
    if p.subject.cn_from_san && !cn_allowed {
        return Err(bad(
            "subject.cn_from_san",
            "set, but CN is not in subject.allowed".into(),
        ));
    }
    if (p.subject.cn_must_match_san || p.subject.cn_from_san) && !(dns_or_ip && p.san.max > 0) {
        return Err(bad(
            "san.allowed",
            "the CN must come from a dns or ip SAN, but the profile allows none".into(),
        ));
    }
    if p.forbidden_extensions
        .contains(&ExtensionName::SubjectAltName)
        && !p.san.allowed.is_empty()
        && p.san.max > 0
    {
        return Err(bad(
            "san.allowed",
            "subjectAltName is forbidden, yet requests may carry SANs (set san.allowed = [])"
                .into(),
        ));
    }
    if p.san.max > 1000 {
        return Err(bad("san.max", format!("{} is more than 1000", p.san.max)));
    }
    if p.san.required && (p.san.allowed.is_empty() || p.san.max == 0) {
        return Err(bad(
            "san.required",
            "SANs are required but none may be given (san.allowed or san.max)".into(),
        ));
    }

    let emitted = emitted_extensions(p);
    for e in &p.required_extensions {
        if p.forbidden_extensions.contains(e) {
            return Err(bad(
                "forbidden_extensions",
                format!("{e:?} is both required and forbidden"),
            ));
        }
        if !emitted.contains(e) && *e != ExtensionName::SubjectAltName {
            return Err(bad(
                "required_extensions",
                format!("{e:?} is required but the profile never adds it"),
            ));
        }
    }
    for e in &p.forbidden_extensions {
        if emitted.contains(e) {
            return Err(bad(
                "forbidden_extensions",
                format!("{e:?} is forbidden but the profile adds it"),
            ));
        }
    }
    Ok(())
}

/// Extensions a certificate of this profile always carries (SAN depends on the request;
/// CDP and AIA depend on the issuing CA publishing URLs).
pub fn emitted_extensions(p: &Profile) -> Vec<ExtensionName> {
    let mut out = vec![
        ExtensionName::KeyUsage,
        ExtensionName::AuthorityKeyIdentifier,
    ];
    if p.subject_key_identifier || p.kind == Kind::SubCa {
        out.push(ExtensionName::SubjectKeyIdentifier);
    }
    if p.kind == Kind::SubCa {
        out.push(ExtensionName::BasicConstraints);
        if p.ca
            .as_ref()
            .is_some_and(|c| !c.permitted_dns.is_empty() || !c.excluded_dns.is_empty())
        {
            out.push(ExtensionName::NameConstraints);
        }
    }
    if !p.extended_key_usage.is_empty() {
        out.push(ExtensionName::ExtendedKeyUsage);
    }
    if !p.certificate_policies.is_empty() {
        out.push(ExtensionName::CertificatePolicies);
    }
    if p.crl_distribution_point {
        out.push(ExtensionName::CrlDistributionPoints);
    }
    if p.freshest_crl {
        out.push(ExtensionName::FreshestCrl);
    }
    if p.authority_info_access {
        out.push(ExtensionName::AuthorityInfoAccess);
    }
    if p.ocsp_no_check {
        out.push(ExtensionName::OcspNoCheck);
    }
    out
}
