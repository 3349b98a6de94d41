//! What the CSR asks for: the PKCS#9 extensionRequest attribute and the SANs in it.
//!
//! ```text
//! extensionRequest ATTRIBUTE ::= {
//!     WITH SYNTAX ExtensionRequest
//!     SINGLE VALUE TRUE
//!     ID pkcs-9-at-extensionRequest }      -- 1.2.840.113549.1.9.14
//! ExtensionRequest ::= Extensions         -- SEQUENCE SIZE (1..MAX) OF Extension
//! ```
//! (RFC 2985 §5.4.2.) One attribute, one value, each extension at most once (RFC 5280 §4.2).
//! The SANs (RFC 5280 §4.2.1.6) come out as [`RequestedSan`]; whether they are acceptable is the
//! profile's decision, not this module's.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use const_oid::db::rfc5912::{ID_CE_SUBJECT_ALT_NAME, ID_EXTENSION_REQ};
use der::Decode;
use x509_cert::attr::Attributes;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::Extension;

use super::input::refuse;
use crate::error::Result;
use crate::keycheck::decode::oid_name;

/// A requested subjectAltName entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestedSan {
    /// dNSName.
    Dns(String),
    /// iPAddress (4 or 16 octets).
    Ip(IpAddr),
    /// rfc822Name.
    Email(String),
    /// uniformResourceIdentifier.
    Uri(String),
    /// Any other GeneralName (otherName, directoryName, registeredID, …), as decoded.
    Other(GeneralName),
}

/// The extensions of the extensionRequest attribute, if any.
pub(crate) fn requested_extensions(attributes: &Attributes) -> Result<Vec<Extension>> {
    let mut requests = attributes.iter().filter(|a| a.oid == ID_EXTENSION_REQ);
    let Some(attribute) = requests.next() else {
        return Ok(Vec::new());
    };
    if requests.next().is_some() {
        return Err(refuse("more than one extensionRequest attribute"));
    }
    let mut values = attribute.values.iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(refuse("extensionRequest must have exactly one value"));
    };
    let extensions: Vec<Extension> = value
        .decode_as()
        .map_err(|e| refuse(format!("extensionRequest does not decode: {e}")))?;
    let mut seen = HashSet::new();
    for ext in &extensions {
        if !seen.insert(ext.extn_id) {
            return Err(refuse(format!(
                "extension {} requested more than once (RFC 5280 §4.2)",
                oid_name(&ext.extn_id)
            )));
        }
    }
    Ok(extensions)
}

/// The SANs of a subjectAltName among `extensions`.
pub(crate) fn requested_sans(extensions: &[Extension]) -> Result<Vec<RequestedSan>> {
    let Some(ext) = extensions
        .iter()
        .find(|e| e.extn_id == ID_CE_SUBJECT_ALT_NAME)
    else {
        return Ok(Vec::new());
    };
    let names = SubjectAltName::from_der(ext.extn_value.as_bytes())
        .map_err(|e| refuse(format!("subjectAltName does not decode: {e}")))?
        .0;
    if names.is_empty() {
        return Err(refuse("subjectAltName is empty"));
    }
    names.into_iter().map(san).collect()
}

fn san(name: GeneralName) -> Result<RequestedSan> {
    Ok(match name {
        GeneralName::DnsName(s) => RequestedSan::Dns(s.to_string()),
        GeneralName::Rfc822Name(s) => RequestedSan::Email(s.to_string()),
        GeneralName::UniformResourceIdentifier(s) => RequestedSan::Uri(s.to_string()),
        GeneralName::IpAddress(octets) => {
            let b = octets.as_bytes();
            if let Ok(v4) = <[u8; 4]>::try_from(b) {
                RequestedSan::Ip(IpAddr::V4(Ipv4Addr::from(v4)))
            } else if let Ok(v6) = <[u8; 16]>::try_from(b) {
                RequestedSan::Ip(IpAddr::V6(Ipv6Addr::from(v6)))
            } else {
                return Err(refuse(format!(
                    "iPAddress SAN of {} octets: must be 4 (IPv4) or 16 (IPv6)",
                    b.len()
                )));
            }
        }
        other => RequestedSan::Other(other),
    })
}
