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
    /// 128 bits from the OS CSPRNG, all of them kept: the value is a 16-octet unsigned
    /// number (at most 17 octets in DER, with the pad octet a set top bit needs; 15 or
    /// fewer when it happens to start with zero octets). Re-drawn only in the 2^-128 case
    /// that it is zero.
    pub fn random() -> Result<Self, SerialError> {
        loop {
            let mut b = [0u8; 16];
            getrandom::fill(&mut b).map_err(|e| SerialError::Random(e.to_string()))?;
            if let Ok(serial) = Self::from_bytes(&b) {
                return Ok(serial);
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
    fn random_serials_use_all_128_bits_and_differ() {
        let serials: Vec<Serial> = (0..256).map(|_| Serial::random().unwrap()).collect();
        for s in &serials {
            // Magnitude without leading zeros: at most 16 octets, never zero.
            assert!(!s.as_bytes().is_empty() && s.as_bytes().len() <= 16);
            assert_ne!(s.as_bytes()[0], 0);
        }
        // The top bit is random too (it was cleared before): among 256 draws both values
        // turn up, except with probability 2^-255.
        let top_set = serials
            .iter()
            .filter(|s| s.as_bytes().len() == 16 && s.as_bytes()[0] & 0x80 != 0)
            .count();
        assert!(
            top_set > 0 && top_set < 256,
            "{top_set} of 256 with the top bit set"
        );
        assert_ne!(serials[0], serials[1]);
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
