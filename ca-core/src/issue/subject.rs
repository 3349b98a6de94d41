//! Subject names of issued certificates: only the attributes the profile allows, each
//! re-encoded canonically (countryName and serialNumber as PrintableString, the others as
//! UTF8String, RFC 5280 §4.1.2.4 and BR §7.1.4.2). Upper bounds and value rules are checked
//! by [`crate::csr::check_subject`] on the encoded name.
//!
//! ```text
//! Name ::= CHOICE { rdnSequence  RDNSequence }
//! RDNSequence ::= SEQUENCE OF RelativeDistinguishedName
//! RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
//! AttributeTypeAndValue ::= SEQUENCE { type AttributeType, value AttributeValue }
//! ```

use const_oid::db::rfc4519::{C, CN, L, O, OU, SERIAL_NUMBER, ST};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, PrintableStringRef, Utf8StringRef};
use der::{Decode, Encode, Tag, Tagged};
use profiles::SubjectAttr;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::error::{Error, Result};

/// One subject attribute, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectPart {
    /// Which attribute.
    pub attr: SubjectAttr,
    /// Its value.
    pub value: String,
}

fn attr_of(oid: &ObjectIdentifier) -> Option<SubjectAttr> {
    Some(match *oid {
        x if x == CN => SubjectAttr::CN,
        x if x == O => SubjectAttr::O,
        x if x == OU => SubjectAttr::OU,
        x if x == L => SubjectAttr::L,
        x if x == ST => SubjectAttr::ST,
        x if x == C => SubjectAttr::C,
        x if x == SERIAL_NUMBER => SubjectAttr::SerialNumber,
        _ => return None,
    })
}

fn oid_of(attr: SubjectAttr) -> ObjectIdentifier {
    match attr {
        SubjectAttr::CN => CN,
        SubjectAttr::O => O,
        SubjectAttr::OU => OU,
        SubjectAttr::L => L,
        SubjectAttr::ST => ST,
        SubjectAttr::C => C,
        SubjectAttr::SerialNumber => SERIAL_NUMBER,
    }
}

/// Decodes the attributes of a requested subject, refusing unknown attribute types and
/// string types other than UTF8String, PrintableString and IA5String.
pub fn subject_parts(name: &Name) -> Result<Vec<SubjectPart>> {
    let mut out = Vec::new();
    {
        for atv in name.iter() {
            let attr = attr_of(&atv.oid).ok_or_else(|| {
                Error::invalid("subject", format!("attribute {} is not accepted", atv.oid))
            })?;
            let v = &atv.value;
            let text = match v.tag() {
                Tag::Utf8String | Tag::PrintableString | Tag::Ia5String => {
                    std::str::from_utf8(v.value()).map_err(|_| {
                        Error::invalid("subject", format!("{attr:?} is not valid text"))
                    })?
                }
                other => {
                    return Err(Error::invalid(
                        "subject",
                        format!(
                            "{attr:?} is encoded as {other}; use UTF8String or PrintableString"
                        ),
                    ))
                }
            };
            out.push(SubjectPart {
                attr,
                value: text.to_string(),
            });
        }
    }
    Ok(out)
}

/// Encodes parts as a Name, one attribute per RDN, in the order given.
pub fn encode_subject(parts: &[SubjectPart]) -> Result<Name> {
    let mut rdns = Vec::new();
    for p in parts {
        let value = if matches!(p.attr, SubjectAttr::C | SubjectAttr::SerialNumber) {
            Any::encode_from(&PrintableStringRef::new(&p.value)?)?
        } else {
            Any::encode_from(&Utf8StringRef::new(&p.value)?)?
        };
        let atv = AttributeTypeAndValue {
            oid: oid_of(p.attr),
            value,
        };
        rdns.push(RelativeDistinguishedName::try_from(vec![atv])?);
    }
    // x509-cert builds a Name only by decoding (or behind its `hazmat` feature): encode the
    // typed RDNSequence and decode it as the Name it is.
    let mut seq = RdnSequence::default();
    for rdn in rdns {
        seq.push(rdn);
    }
    Ok(Name::from_der(&seq.to_der()?)?)
}
