//! Applying a profile to a request: the profile alone decides validity, subject attributes,
//! SAN types and every extension; requested extensions are never copied.

use chrono::{Duration, NaiveDateTime};
use const_oid::db::rfc5280::{
    ID_KP_CLIENT_AUTH, ID_KP_CODE_SIGNING, ID_KP_EMAIL_PROTECTION, ID_KP_OCSP_SIGNING,
    ID_KP_SERVER_AUTH, ID_KP_TIME_STAMPING,
};
use const_oid::db::rfc5912::ID_CE_SUBJECT_ALT_NAME;
use const_oid::db::rfc6960::ID_PKIX_OCSP_NOCHECK;
use const_oid::ObjectIdentifier;
use der::asn1::{Null, OctetString};
use der::{Decode, Encode};
use profiles::{CsrAction, KeyKindName, KeyUsageBit, Kind, Profile, Purpose, SubjectAttr};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::{BasicConstraints, CertificatePolicies, KeyUsages, SubjectAltName};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::Certificate;

use super::san::San;
use super::subject::{encode_subject, subject_parts, SubjectPart};
use crate::error::{Error, Result};
use crate::extensions as ext;
use crate::issuer::CertificateTemplate;
use crate::store::CaRecord;

/// The subject key after the public-key checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFacts {
    /// Kind.
    pub kind: KeyKindName,
    /// RSA modulus size, for RSA keys.
    pub rsa_bits: Option<u32>,
}

/// What a requester asks for, after the CSR was parsed and its signature and key checked.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// Requested subject.
    pub subject: Name,
    /// Subject public key.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// Key kind and size.
    pub key: KeyFacts,
    /// Extensions the CSR asked for (never copied; SANs are read from `sans`).
    pub requested_extensions: Vec<Extension>,
    /// SANs to certify.
    pub sans: Vec<San>,
    /// Validity in days; the profile's default when `None`.
    pub validity_days: Option<u32>,
}

/// A template and what was left out of the request.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The template to prepare.
    pub template: CertificateTemplate,
    /// Requested extensions that were dropped (by OID), for the operator's information.
    pub dropped_extensions: Vec<ObjectIdentifier>,
}

pub(crate) fn purpose_oid(p: Purpose) -> ObjectIdentifier {
    match p {
        Purpose::ServerAuth => ID_KP_SERVER_AUTH,
        Purpose::ClientAuth => ID_KP_CLIENT_AUTH,
        Purpose::CodeSigning => ID_KP_CODE_SIGNING,
        Purpose::EmailProtection => ID_KP_EMAIL_PROTECTION,
        Purpose::TimeStamping => ID_KP_TIME_STAMPING,
        Purpose::OcspSigning => ID_KP_OCSP_SIGNING,
    }
}

fn key_usage_bit(b: KeyUsageBit) -> KeyUsages {
    match b {
        KeyUsageBit::DigitalSignature => KeyUsages::DigitalSignature,
        KeyUsageBit::NonRepudiation => KeyUsages::NonRepudiation,
        KeyUsageBit::KeyEncipherment => KeyUsages::KeyEncipherment,
        KeyUsageBit::DataEncipherment => KeyUsages::DataEncipherment,
        KeyUsageBit::KeyAgreement => KeyUsages::KeyAgreement,
        KeyUsageBit::KeyCertSign => KeyUsages::KeyCertSign,
        KeyUsageBit::CrlSign => KeyUsages::CRLSign,
    }
}

/// Builds the certificate template for `req` under `profile`, issued by `ca` at `now`,
/// assigned to CRL shard `shard`.
pub fn plan(
    profile: &Profile,
    req: IssueRequest,
    ca: &CaRecord,
    now: NaiveDateTime,
    shard: i32,
) -> Result<Planned> {
    let pname = &profile.name;

    // Validity (RFC 5280 §4.1.2.5: both ends inclusive, so a day-count of d ends
    // d·86400 − 1 seconds after notBefore).
    let days = req.validity_days.unwrap_or(profile.validity.default_days);
    if days == 0 || days > profile.validity.max_days {
        return Err(Error::invalid(
            "days",
            format!(
                "{days} days is outside 1 to the {} days profile {pname} allows",
                profile.validity.max_days
            ),
        ));
    }
    let not_before = now - Duration::seconds(i64::from(profile.validity.backdate_seconds));
    let not_after = not_before + Duration::seconds(i64::from(days) * 86_400 - 1);
    if not_after > ca.not_after {
        return Err(Error::invalid(
            "days",
            format!(
                "the certificate would outlive CA {:?} (valid until {}Z)",
                ca.name,
                ca.not_after.format("%Y-%m-%d %H:%M:%S")
            ),
        ));
    }

    // Subject key.
    let k = &profile.keys;
    if !k.allowed.contains(&req.key.kind) {
        return Err(Error::invalid(
            "public key",
            format!("{:?} keys are not allowed by profile {pname}", req.key.kind),
        ));
    }
    if let Some(bits) = req.key.rsa_bits {
        if bits < k.rsa_min_bits || bits > k.rsa_max_bits {
            return Err(Error::invalid(
                "public key",
                format!(
                    "RSA {bits} bits is outside {} to {} for profile {pname}",
                    k.rsa_min_bits, k.rsa_max_bits
                ),
            ));
        }
    }

    // SANs.
    let mut sans: Vec<San> = Vec::new();
    for s in req.sans {
        if !profile.san.allowed.contains(&s.san_type()) {
            return Err(Error::invalid(
                "san",
                format!(
                    "{s}: {:?} names are not allowed by profile {pname}",
                    s.san_type()
                ),
            ));
        }
        s.check(profile.san.allow_wildcard)?;
        if !sans.contains(&s) {
            sans.push(s);
        }
    }
    if sans.len() > profile.san.max as usize {
        return Err(Error::invalid(
            "san",
            format!(
                "{} names; profile {pname} allows {}",
                sans.len(),
                profile.san.max
            ),
        ));
    }
    if profile.san.required && sans.is_empty() {
        return Err(Error::invalid(
            "san",
            format!("profile {pname} requires at least one subject alternative name"),
        ));
    }

    // Subject.
    let mut parts = subject_parts(&req.subject)?;
    for p in &parts {
        if !profile.subject.allowed.contains(&p.attr) {
            return Err(Error::invalid(
                "subject",
                format!("attribute {:?} is not allowed by profile {pname}", p.attr),
            ));
        }
    }
    let has_cn = parts.iter().any(|p| p.attr == SubjectAttr::CN);
    if !has_cn && profile.subject.cn_from_san {
        if let Some(first) = sans.iter().find_map(|s| match s {
            San::Dns(d) => Some(d.clone()),
            San::Ip(a) => Some(a.to_string()),
            _ => None,
        }) {
            let cn = SubjectPart {
                attr: SubjectAttr::CN,
                value: first,
            };
            parts.push(cn);
        }
    }
    for required in &profile.subject.required {
        if !parts.iter().any(|p| p.attr == *required) {
            return Err(Error::invalid(
                "subject",
                format!("profile {pname} requires a {required:?} attribute"),
            ));
        }
    }
    if profile.subject.cn_must_match_san {
        for cn in parts.iter_mut().filter(|p| p.attr == SubjectAttr::CN) {
            // DNS names compare without case, as DNS does; the CN then carries the SAN's
            // own (lowercased) form, because BR §7.1.4.3 wants it to be a copy of a SAN
            // value, byte for byte.
            let matched = sans.iter().find_map(|s| match s {
                San::Dns(d) if d.eq_ignore_ascii_case(&cn.value) => Some(d.clone()),
                San::Ip(a) if a.to_string() == cn.value => Some(cn.value.clone()),
                _ => None,
            });
            if let Some(copy) = matched {
                cn.value = copy;
            } else {
                return Err(Error::invalid(
                    "subject",
                    format!(
                        "CN {:?} is not one of the subject alternative names",
                        cn.value
                    ),
                ));
            }
        }
    }
    let subject = encode_subject(&parts)?;
    crate::csr::check_subject(&subject)?;

    // Requested extensions: never copied. SAN is how SANs arrive; anything else is
    // dropped or refused as the profile says.
    let mut dropped = Vec::new();
    let tolerated: Vec<ObjectIdentifier> = profile
        .csr_extensions
        .tolerated
        .iter()
        .map(|e| super::lints::extension_oid(*e))
        .collect();
    for e in &req.requested_extensions {
        if e.extn_id == ID_CE_SUBJECT_ALT_NAME || tolerated.contains(&e.extn_id) {
            continue;
        }
        match profile.csr_extensions.forbidden {
            CsrAction::Refuse => {
                return Err(Error::invalid(
                    "csr",
                    format!(
                        "the request asks for extension {}, which profile {pname} does not take",
                        super::lints::extension_label(&e.extn_id)
                    ),
                ))
            }
            CsrAction::Drop => dropped.push(e.extn_id),
        }
    }

    // Extensions, decided by the profile alone.
    let mut extensions = Vec::new();
    if profile.kind == Kind::SubCa {
        let ca_rules = profile.ca.as_ref().ok_or_else(|| {
            Error::invalid(
                "profile",
                format!("sub-ca profile {pname} has no [ca] section"),
            )
        })?;
        check_issuer_can_issue_sub_ca(ca)?;
        extensions.push(ext::extension(
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(ca_rules.path_len),
            },
            true,
        )?);
        if !ca_rules.permitted_dns.is_empty() || !ca_rules.excluded_dns.is_empty() {
            extensions.push(ext::dns_name_constraints(
                &ca_rules.permitted_dns,
                &ca_rules.excluded_dns,
            )?);
        }
    }
    let usages: Vec<KeyUsages> = profile
        .key_usage
        .iter()
        .filter(|b| **b != KeyUsageBit::KeyEncipherment || req.key.kind == KeyKindName::Rsa)
        .map(|b| key_usage_bit(*b))
        .collect();
    if usages.is_empty() {
        return Err(Error::invalid(
            "public key",
            format!(
                "profile {pname} leaves no key usage for a {:?} key",
                req.key.kind
            ),
        ));
    }
    extensions.push(ext::key_usage(usages)?);
    if !profile.extended_key_usage.is_empty() {
        let oids = profile
            .extended_key_usage
            .iter()
            .map(|p| purpose_oid(*p))
            .collect();
        let mut e = ext::extended_key_usage(oids)?;
        e.critical = profile.extended_key_usage_critical;
        extensions.push(e);
    }
    if !sans.is_empty() {
        let names = sans
            .iter()
            .map(San::to_general_name)
            .collect::<Result<Vec<_>>>()?;
        // RFC 5280 §4.2.1.6: critical when the subject is empty.
        extensions.push(ext::extension(&SubjectAltName(names), subject.is_empty())?);
    }
    if profile.subject_key_identifier || profile.kind == Kind::SubCa {
        extensions.push(ext::subject_key_identifier(&req.public_key)?);
    }
    if !profile.certificate_policies.is_empty() {
        let policies = profile
            .certificate_policies
            .iter()
            .map(|o| {
                Ok(PolicyInformation {
                    policy_identifier: ObjectIdentifier::new(o)
                        .map_err(|e| Error::invalid("certificate_policies", e.to_string()))?,
                    policy_qualifiers: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        extensions.push(ext::extension(&CertificatePolicies(policies), false)?);
    }
    let publication = &ca.publication;
    if profile.crl_distribution_point {
        if let Some(url) = publication.crl_url(shard) {
            extensions.push(ext::crl_distribution_points(&[url])?);
        }
    }
    if profile.freshest_crl {
        let url = publication.delta_crl_url(shard).ok_or_else(|| {
            Error::invalid(
                "profile",
                format!(
                    "profile {:?} asks for freshestCRL but CA {:?} publishes no delta CRL (delta_crl in its [urls])",
                    profile.name, ca.name
                ),
            )
        })?;
        extensions.push(ext::freshest_crl(&[url])?);
    }
    if profile.authority_info_access
        && (!publication.ocsp.is_empty() || !publication.ca_issuers.is_empty())
    {
        extensions.push(ext::authority_info_access(
            &publication.ocsp,
            &publication.ca_issuers,
        )?);
    }
    if profile.ocsp_no_check {
        // RFC 6960 §4.2.2.2.1: id-pkix-ocsp-nocheck, value NULL.
        extensions.push(Extension {
            extn_id: ID_PKIX_OCSP_NOCHECK,
            critical: false,
            extn_value: OctetString::new(Null.to_der()?)?,
        });
    }

    Ok(Planned {
        template: CertificateTemplate {
            profile: profile.name.clone(),
            subject,
            subject_public_key: req.public_key,
            not_before,
            not_after,
            extensions,
            sans: sans.iter().map(|s| s.to_string()).collect(),
            crl_shard: shard,
            lint_profile: Some(profile.clone()),
        },
        dropped_extensions: dropped,
    })
}

/// A CA whose own basicConstraints has pathLenConstraint 0 cannot issue a sub-CA.
fn check_issuer_can_issue_sub_ca(ca: &CaRecord) -> Result<()> {
    let cert = Certificate::from_der(&ca.certificate_der)?;
    if let Ok(Some((_, bc))) = cert.tbs_certificate().get_extension::<BasicConstraints>() {
        if bc.path_len_constraint == Some(0) {
            return Err(Error::invalid(
                "profile",
                format!(
                    "CA {:?} has pathLenConstraint 0 and cannot issue a sub-CA",
                    ca.name
                ),
            ));
        }
    }
    Ok(())
}
