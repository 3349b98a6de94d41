//! Upper bounds on subject attributes (RFC 5280 Appendix A.1; X.520).
//!
//! ```text
//! ub-common-name                  INTEGER ::= 64
//! ub-organization-name            INTEGER ::= 64
//! ub-organizational-unit-name     INTEGER ::= 64
//! ub-locality-name                INTEGER ::= 128
//! ub-state-name                   INTEGER ::= 128
//! ub-title                        INTEGER ::= 64
//! ub-serial-number                INTEGER ::= 64
//! ub-pseudonym                    INTEGER ::= 128
//! ub-emailaddress-length          INTEGER ::= 255
//! ub-country-name-alpha-length    INTEGER ::= 2
//! X520countryName ::=     PrintableString (SIZE (2))   -- ISO 3166 alpha-2
//! DirectoryString ::= CHOICE { teletexString, printableString, universalString,
//!                              utf8String, bmpString }  -- each SIZE (1..MAX)
//! ```
//! Bounds count characters, not octets. Attributes not listed here are left to the profile.

use const_oid::ObjectIdentifier;
use der::{Tag, Tagged};
use x509_cert::name::Name;

use crate::error::{Error, Result};

/// How an attribute's value must look.
#[derive(Clone, Copy)]
enum Syntax {
    /// A DirectoryString of at most this many characters.
    Directory(usize),
    /// A PrintableString of at most this many characters.
    Printable(usize),
    /// An IA5String of at most this many characters.
    Ia5(usize),
    /// Two upper-case letters as a PrintableString.
    Country,
}

const fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(s)
}

/// (type, short name, syntax, bound name)
const BOUNDS: &[(ObjectIdentifier, &str, Syntax, &str)] = &[
    (
        oid("2.5.4.3"),
        "CN",
        Syntax::Directory(64),
        "ub-common-name",
    ),
    (
        oid("2.5.4.10"),
        "O",
        Syntax::Directory(64),
        "ub-organization-name",
    ),
    (
        oid("2.5.4.11"),
        "OU",
        Syntax::Directory(64),
        "ub-organizational-unit-name",
    ),
    (
        oid("2.5.4.7"),
        "L",
        Syntax::Directory(128),
        "ub-locality-name",
    ),
    (
        oid("2.5.4.8"),
        "ST",
        Syntax::Directory(128),
        "ub-state-name",
    ),
    (oid("2.5.4.12"), "title", Syntax::Directory(64), "ub-title"),
    (
        oid("2.5.4.65"),
        "pseudonym",
        Syntax::Directory(128),
        "ub-pseudonym",
    ),
    (
        oid("2.5.4.5"),
        "serialNumber",
        Syntax::Printable(64),
        "ub-serial-number",
    ),
    (
        oid("1.2.840.113549.1.9.1"),
        "emailAddress",
        Syntax::Ia5(255),
        "ub-emailaddress-length",
    ),
    (
        oid("2.5.4.6"),
        "C",
        Syntax::Country,
        "ub-country-name-alpha-length",
    ),
];

/// Refuses subject attributes over their upper bounds, empty, or of the wrong string type.
pub fn check_subject(subject: &Name) -> Result<()> {
    for atv in subject.iter() {
        let Some((_, label, syntax, bound)) = BOUNDS.iter().find(|(o, ..)| *o == atv.oid) else {
            continue;
        };
        let bad = |reason: String| Err(Error::invalid("subject", format!("{label} {reason}")));
        let tag = atv.value.tag();
        let bytes = atv.value.value();
        let (chars, max) = match (*syntax, tag) {
            (Syntax::Directory(max), _) => match directory_string_chars(tag, bytes) {
                Some(n) => (n, max),
                None => return bad(format!("is not a valid DirectoryString ({tag})")),
            },
            (Syntax::Printable(max), Tag::PrintableString) if is_printable(bytes) => {
                (bytes.len(), max)
            }
            (Syntax::Ia5(max), Tag::Ia5String) if bytes.is_ascii() => (bytes.len(), max),
            (Syntax::Country, Tag::PrintableString) => {
                if bytes.len() == 2 && bytes.iter().all(u8::is_ascii_uppercase) {
                    continue;
                }
                return bad(format!(
                    "must be two upper-case letters (ISO 3166-1 alpha-2, {bound} = 2)"
                ));
            }
            (Syntax::Country | Syntax::Printable(_), _) => {
                return bad("must be a PrintableString".into())
            }
            (Syntax::Ia5(_), _) => return bad("must be an IA5String".into()),
        };
        if chars == 0 {
            return bad("is empty".into());
        }
        if chars > max {
            return bad(format!(
                "of {chars} characters is over the upper bound of {max} ({bound}, RFC 5280 Appendix A)"
            ));
        }
    }
    Ok(())
}

/// Characters in a DirectoryString value, or `None` if it is not a valid one.
fn directory_string_chars(tag: Tag, bytes: &[u8]) -> Option<usize> {
    match tag {
        Tag::Utf8String => std::str::from_utf8(bytes).ok().map(|s| s.chars().count()),
        Tag::PrintableString => is_printable(bytes).then_some(bytes.len()),
        Tag::TeletexString => Some(bytes.len()),
        Tag::BmpString => bytes.len().is_multiple_of(2).then_some(bytes.len() / 2),
        _ => None,
    }
}

/// X.680 §41.4 PrintableString characters.
fn is_printable(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(b))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn check(dn: &str) -> Result<()> {
        check_subject(&Name::from_str(dn).unwrap())
    }

    #[test]
    fn bounds_count_characters() {
        assert!(check(&format!("CN={}", "a".repeat(64))).is_ok());
        let err = check(&format!("CN={}", "a".repeat(65))).unwrap_err();
        assert!(err.to_string().contains("CN of 65 characters"), "{err}");
        assert!(err.to_string().contains("ub-common-name"), "{err}");
        // 64 characters of two octets each: within the bound.
        assert!(check(&format!("CN={}", "é".repeat(64))).is_ok());
        assert!(check(&format!("O={}", "o".repeat(65))).is_err());
        assert!(check(&format!("OU={}", "u".repeat(65))).is_err());
        assert!(check(&format!("L={}", "l".repeat(128))).is_ok());
        assert!(check(&format!("L={}", "l".repeat(129))).is_err());
        assert!(check(&format!("ST={}", "s".repeat(129))).is_err());
    }

    #[test]
    fn country_is_two_capital_letters() {
        assert!(check("C=DE,CN=x").is_ok());
        assert!(check("C=DEU,CN=x").is_err());
        assert!(check("C=de,CN=x").is_err());
    }
}
