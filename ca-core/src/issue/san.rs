//! Subject alternative names (RFC 5280 §4.2.1.6), as requested and as put into certificates.
//!
//! ```text
//! GeneralName ::= CHOICE {
//!      rfc822Name                      [1]     IA5String,
//!      dNSName                         [2]     IA5String,
//!      uniformResourceIdentifier       [6]     IA5String,
//!      iPAddress                       [7]     OCTET STRING, ... }
//! ```

use std::fmt;
use std::net::IpAddr;

use der::asn1::{Ia5String, OctetString};
use profiles::SanType;
use x509_cert::ext::pkix::name::GeneralName;

use crate::error::{Error, Result};

/// One subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum San {
    /// dNSName, lowercase.
    Dns(String),
    /// iPAddress.
    Ip(IpAddr),
    /// rfc822Name.
    Email(String),
    /// uniformResourceIdentifier.
    Uri(String),
}

impl San {
    /// Parses `dns:NAME`, `ip:ADDR`, `email:ADDR`, `uri:URI`, or a bare DNS name / IP.
    pub fn parse(text: &str) -> Result<San> {
        let bad = |why: &str| Error::invalid("san", format!("{text:?}: {why}"));
        let (kind, value) = match text.split_once(':') {
            Some((k, v)) if ["dns", "ip", "email", "uri"].contains(&k) => (k, v),
            _ => match text.parse::<IpAddr>() {
                Ok(ip) => return Ok(San::Ip(ip)),
                Err(_) => ("dns", text),
            },
        };
        match kind {
            "dns" => Ok(San::Dns(value.to_ascii_lowercase())),
            "ip" => value
                .parse::<IpAddr>()
                .map(San::Ip)
                .map_err(|_| bad("not an IP address")),
            "email" => Ok(San::Email(value.to_string())),
            _ => Ok(San::Uri(value.to_string())),
        }
    }

    /// Its type.
    pub fn san_type(&self) -> SanType {
        match self {
            San::Dns(_) => SanType::Dns,
            San::Ip(_) => SanType::Ip,
            San::Email(_) => SanType::Email,
            San::Uri(_) => SanType::Uri,
        }
    }

    /// Reads a GeneralName from a request; `None` for types hsmca does not issue.
    pub fn from_general_name(g: &GeneralName) -> Option<San> {
        match g {
            GeneralName::DnsName(s) => Some(San::Dns(s.as_str().to_ascii_lowercase())),
            GeneralName::Rfc822Name(s) => Some(San::Email(s.as_str().to_string())),
            GeneralName::UniformResourceIdentifier(s) => Some(San::Uri(s.as_str().to_string())),
            GeneralName::IpAddress(o) => match o.as_bytes().len() {
                4 => <[u8; 4]>::try_from(o.as_bytes())
                    .ok()
                    .map(|b| San::Ip(IpAddr::from(b))),
                16 => <[u8; 16]>::try_from(o.as_bytes())
                    .ok()
                    .map(|b| San::Ip(IpAddr::from(b))),
                _ => None,
            },
            _ => None,
        }
    }

    /// Checks the syntax: preferred name syntax for DNS names (RFC 1034 §3.5, wildcard only
    /// as the whole leftmost label when allowed), addr-spec shape for e-mail, absolute URI.
    pub fn check(&self, allow_wildcard: bool) -> Result<()> {
        let bad = |why: String| Error::invalid("san", format!("{self}: {why}"));
        match self {
            San::Dns(name) => check_dns(name, allow_wildcard).map_err(bad),
            San::Ip(_) => Ok(()),
            San::Email(addr) => {
                let ok = addr.is_ascii()
                    && addr.len() <= 254
                    && addr
                        .split_once('@')
                        .is_some_and(|(l, d)| !l.is_empty() && check_dns(d, false).is_ok());
                if ok {
                    Ok(())
                } else {
                    Err(bad("not an ASCII e-mail address".into()))
                }
            }
            San::Uri(u) => {
                let ok = u.is_ascii()
                    && u.len() <= 2048
                    && u.split_once(':').is_some_and(|(scheme, rest)| {
                        !scheme.is_empty()
                            && scheme
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                            && !rest.is_empty()
                    })
                    && !u
                        .chars()
                        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control());
                if ok {
                    Ok(())
                } else {
                    Err(bad("not an absolute URI".into()))
                }
            }
        }
    }

    /// The GeneralName.
    pub fn to_general_name(&self) -> Result<GeneralName> {
        let ia5 = |s: &str| {
            Ia5String::new(s).map_err(|_| Error::invalid("san", format!("{s:?} is not ASCII")))
        };
        Ok(match self {
            San::Dns(s) => GeneralName::DnsName(ia5(s)?),
            San::Email(s) => GeneralName::Rfc822Name(ia5(s)?),
            San::Uri(s) => GeneralName::UniformResourceIdentifier(ia5(s)?),
            San::Ip(IpAddr::V4(a)) => GeneralName::IpAddress(OctetString::new(a.octets())?),
            San::Ip(IpAddr::V6(a)) => GeneralName::IpAddress(OctetString::new(a.octets())?),
        })
    }
}

fn check_dns(name: &str, allow_wildcard: bool) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("DNS names are 1 to 253 characters".into());
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err("a DNS name needs at least two labels".into());
    }
    for (i, label) in labels.iter().enumerate() {
        if *label == "*" {
            // `*.com`: a wildcard over a whole top-level domain (BR §3.2.2.6 forbids one
            // over any registry-controlled label; without a public suffix list, hsmca
            // refuses the certain case, a wildcard directly over the last label).
            if i == 0 && allow_wildcard && labels.len() >= 3 {
                continue;
            }
            if i == 0 && allow_wildcard {
                return Err("a wildcard needs at least two labels after it".into());
            }
            return Err("wildcards are not allowed here (only as the whole leftmost label)".into());
        }
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(format!(
                "label {label:?} is not a letter-digit-hyphen label"
            ));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("the last label is numeric (an IP address belongs in an ip: SAN)".into());
    }
    Ok(())
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(s) => write!(f, "dns:{s}"),
            San::Ip(a) => write!(f, "ip:{a}"),
            San::Email(s) => write!(f, "email:{s}"),
            San::Uri(s) => write!(f, "uri:{s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        assert_eq!(
            San::parse("Example.COM").unwrap(),
            San::Dns("example.com".into())
        );
        assert_eq!(
            San::parse("ip:192.0.2.1").unwrap(),
            San::Ip("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            San::parse("2001:db8::1").unwrap(),
            San::Ip("2001:db8::1".parse().unwrap())
        );
        assert!(San::parse("ip:999.1.1.1").is_err());
    }

    #[test]
    fn dns_syntax() {
        assert!(San::Dns("a.example.com".into()).check(false).is_ok());
        assert!(San::Dns("*.example.com".into()).check(true).is_ok());
        assert!(San::Dns("*.example.com".into()).check(false).is_err());
        assert!(San::Dns("*.com".into()).check(true).is_err());
        assert!(San::Dns("a.*.example.com".into()).check(true).is_err());
        assert!(San::Dns("-a.example.com".into()).check(false).is_err());
        assert!(San::Dns("a_b.example.com".into()).check(false).is_err());
        assert!(San::Dns("localhost".into()).check(false).is_err());
        assert!(San::Dns("1.2.3.4".into()).check(false).is_err());
    }
}
