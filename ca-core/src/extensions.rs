//! Typed X.509 v3 extensions (RFC 5280 §4.2), encoded with x509-cert's types.

use const_oid::db::rfc5280::{ID_AD_CA_ISSUERS, ID_AD_OCSP};
use const_oid::{AssociatedOid, ObjectIdentifier};
use der::asn1::{Ia5String, OctetString};
use der::Encode;
use sha1::{Digest, Sha1};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::constraints::name::{GeneralSubtree, NameConstraints};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;

use crate::error::{Error, Result};

/// Wraps an encodable extension value (`extnValue` is the DER of the value).
///
/// ```text
/// Extension  ::=  SEQUENCE  {
///      extnID      OBJECT IDENTIFIER,
///      critical    BOOLEAN DEFAULT FALSE,
///      extnValue   OCTET STRING }
/// ```
pub fn extension<T: AssociatedOid + Encode>(value: &T, critical: bool) -> Result<Extension> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// Key identifier by RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING
/// value (excluding tag, length and unused-bits octet).
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec()
}

/// basicConstraints, always critical here (RFC 5280 §4.2.1.9: MUST be critical in CA certs).
pub fn basic_constraints(ca: bool, path_len: Option<u8>) -> Result<Extension> {
    extension(
        &BasicConstraints {
            ca,
            path_len_constraint: path_len,
        },
        true,
    )
}

/// keyUsage, critical (RFC 5280 §4.2.1.3: SHOULD be critical).
pub fn key_usage(usages: impl IntoIterator<Item = KeyUsages>) -> Result<Extension> {
    let mut set = flagset::FlagSet::<KeyUsages>::default();
    for u in usages {
        set |= u;
    }
    extension(&KeyUsage(set), true)
}

/// extKeyUsage, non-critical.
pub fn extended_key_usage(oids: Vec<ObjectIdentifier>) -> Result<Extension> {
    extension(&ExtendedKeyUsage(oids), false)
}

/// subjectKeyIdentifier, non-critical.
pub fn subject_key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Result<Extension> {
    extension(
        &SubjectKeyIdentifier(OctetString::new(key_identifier(spki))?),
        false,
    )
}

/// authorityKeyIdentifier with keyIdentifier only, non-critical (RFC 5280 §4.2.1.1).
pub fn authority_key_identifier(issuer_key_id: &[u8]) -> Result<Extension> {
    extension(
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(issuer_key_id)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
        false,
    )
}

/// A URI GeneralName; only http, https and ldap URLs are accepted.
pub fn uri(value: &str, field: &str) -> Result<GeneralName> {
    if !(value.starts_with("http://")
        || value.starts_with("https://")
        || value.starts_with("ldap://"))
    {
        return Err(Error::invalid(
            field,
            format!("{value:?} must be an http://, https:// or ldap:// URL"),
        ));
    }
    let ia5 = Ia5String::new(value)
        .map_err(|_| Error::invalid(field, format!("{value:?} is not ASCII")))?;
    Ok(GeneralName::UniformResourceIdentifier(ia5))
}

/// cRLDistributionPoints with one fullName URI per distribution point, non-critical.
pub fn crl_distribution_points(urls: &[String]) -> Result<Extension> {
    let points = urls
        .iter()
        .map(|u| {
            Ok(DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![uri(u, "crl")?])),
                reasons: None,
                crl_issuer: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    extension(&CrlDistributionPoints(points), false)
}

/// freshestCRL (RFC 5280 §4.2.1.15, same syntax as cRLDistributionPoints), non-critical.
pub fn freshest_crl(urls: &[String]) -> Result<Extension> {
    let points = urls
        .iter()
        .map(|u| {
            Ok(DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![uri(
                    u,
                    "delta_crl",
                )?])),
                reasons: None,
                crl_issuer: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    extension(&x509_cert::ext::pkix::FreshestCrl(points), false)
}

/// authorityInfoAccess with OCSP and caIssuers URIs, non-critical (RFC 5280 §4.2.2.1).
pub fn authority_info_access(ocsp: &[String], ca_issuers: &[String]) -> Result<Extension> {
    let mut out = Vec::new();
    for u in ocsp {
        out.push(AccessDescription {
            access_method: ID_AD_OCSP,
            access_location: uri(u, "ocsp")?,
        });
    }
    for u in ca_issuers {
        out.push(AccessDescription {
            access_method: ID_AD_CA_ISSUERS,
            access_location: uri(u, "ca_issuers")?,
        });
    }
    extension(&AuthorityInfoAccessSyntax(out), false)
}

/// cRLDistributionPoints (for `shard`) and authorityInfoAccess from a CA's publication URLs;
/// empty when the CA publishes none.
pub fn publication_extensions(p: &crate::store::Publication, shard: i32) -> Result<Vec<Extension>> {
    let mut out = Vec::new();
    if let Some(url) = p.crl_url(shard) {
        out.push(crl_distribution_points(&[url])?);
    }
    if !p.ocsp.is_empty() || !p.ca_issuers.is_empty() {
        out.push(authority_info_access(&p.ocsp, &p.ca_issuers)?);
    }
    Ok(out)
}

/// nameConstraints over dNSName subtrees, critical (RFC 5280 §4.2.1.10: MUST be critical).
pub fn dns_name_constraints(permitted: &[String], excluded: &[String]) -> Result<Extension> {
    let subtrees = |names: &[String], field: &str| -> Result<Option<Vec<GeneralSubtree>>> {
        if names.is_empty() {
            return Ok(None);
        }
        names
            .iter()
            .map(|n| {
                let valid = !n.is_empty()
                    && n.len() <= 253
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                if !valid {
                    return Err(Error::invalid(
                        field,
                        format!("{n:?} is not a DNS name (letters, digits, '-' and '.')"),
                    ));
                }
                Ok(GeneralSubtree {
                    base: GeneralName::DnsName(
                        Ia5String::new(n).map_err(|e| Error::invalid(field, e.to_string()))?,
                    ),
                    minimum: 0,
                    maximum: None,
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    };
    extension(
        &NameConstraints {
            permitted_subtrees: subtrees(permitted, "name_constraints.permitted_dns")?,
            excluded_subtrees: subtrees(excluded, "name_constraints.excluded_dns")?,
        },
        true,
    )
}
