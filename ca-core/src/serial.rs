//! Certificate serial numbers (RFC 5280 §4.1.2.2).
//!
//! ```text
//! CertificateSerialNumber  ::=  INTEGER
//! ```
//! "The serial number MUST be a positive integer … Conforming CAs MUST NOT use
//! serialNumber values longer than 20 octets." CA/B Forum BR §7.1 asks for at least
//! 64 bits of CSPRNG output; we use 128.

use std::fmt;

/// A positive serial number, held as its big-endian magnitude without leading zeros.
///
/// Displayed and stored as lowercase hex; parsed from hex in either case, with or
/// without `:` separators and an optional `0x` prefix.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

/// Why a serial could not be made or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SerialError {
    /// Not hexadecimal.
    #[error("serial {0:?} is not hexadecimal")]
    NotHex(String),
    /// Zero is not a positive integer.
    #[error("serial must be positive")]
    Zero,
    /// Over 20 octets once DER-encoded.
    #[error("serial is longer than 20 octets")]
    TooLong,
    /// The operating system's random source failed.
    #[error("random source failed: {0}")]
    Random(String),
}

impl Serial {
    /// 128 bits from the OS CSPRNG, top bit cleared so the DER INTEGER needs no pad
    /// octet and stays 16 octets; re-drawn in the 2^-120 case that it is too short.
    pub fn random() -> Result<Self, SerialError> {
        loop {
            let mut b = [0u8; 16];
            getrandom::fill(&mut b).map_err(|e| SerialError::Random(e.to_string()))?;
            b[0] &= 0x7f;
            if b[0] != 0 {
                return Ok(Serial(b.to_vec()));
            }
        }
    }

    /// From the big-endian magnitude (leading zeros dropped).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SerialError> {
        let start = bytes
            .iter()
            .position(|&b| b != 0)
            .ok_or(SerialError::Zero)?;
        let mag = &bytes[start..];
        // DER adds a 0x00 pad when the top bit is set.
        let der_len = mag.len() + usize::from(mag[0] & 0x80 != 0);
        if der_len > 20 {
            return Err(SerialError::TooLong);
        }
        Ok(Serial(mag.to_vec()))
    }

    /// Parses user or database text.
    pub fn parse(text: &str) -> Result<Self, SerialError> {
        let t = text.trim();
        let t = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
        let cleaned: String = t.chars().filter(|c| *c != ':').collect();
        if cleaned.is_empty() || !cleaned.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(SerialError::NotHex(text.to_string()));
        }
        let padded = if cleaned.len() % 2 == 1 {
            format!("0{cleaned}")
        } else {
            cleaned
        };
        let bytes = hex::decode(&padded).map_err(|_| SerialError::NotHex(text.to_string()))?;
        Self::from_bytes(&bytes)
    }

    /// Big-endian magnitude, no leading zeros.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lowercase hex, the stored form.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_serials_are_positive_16_octets_and_differ() {
        let a = Serial::random().unwrap();
        let b = Serial::random().unwrap();
        assert_eq!(a.as_bytes().len(), 16);
        assert!(a.as_bytes()[0] & 0x80 == 0 && a.as_bytes()[0] != 0);
        assert_ne!(a, b);
    }

    #[test]
    fn parse_accepts_openssl_and_colon_forms() {
        let s = Serial::parse("0x00:AB:cd").unwrap();
        assert_eq!(s.to_hex(), "abcd");
        assert_eq!(Serial::parse("ABCD").unwrap(), s);
    }

    #[test]
    fn parse_rejects_zero_non_hex_and_overlong() {
        assert_eq!(Serial::parse("0000"), Err(SerialError::Zero));
        assert!(matches!(Serial::parse("xyz"), Err(SerialError::NotHex(_))));
        assert!(matches!(Serial::parse(""), Err(SerialError::NotHex(_))));
        // 20 octets with the top bit set need a pad octet: 21 in DER.
        assert_eq!(Serial::parse(&"ff".repeat(20)), Err(SerialError::TooLong));
        assert!(Serial::parse(&"7f".repeat(20)).is_ok());
    }
}
