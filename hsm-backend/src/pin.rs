//! PINs: read from environment variables or files, never from argv, never printed.

use std::fmt;
use std::path::Path;

use crate::error::{Error, Result};

/// A PIN. `Debug` and `Display` print `Pin(***)`; the value is only handed to the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    /// Wraps a PIN value, refusing empty ones and ones with control characters.
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let v: String = value.into();
        if v.is_empty() {
            return Err(Error::Invalid {
                what: "PIN",
                reason: "it is empty".into(),
            });
        }
        if v.chars().any(|c| c.is_control()) {
            return Err(Error::Invalid {
                what: "PIN",
                reason: "it contains control characters".into(),
            });
        }
        Ok(Pin(v))
    }

    /// Reads the PIN from environment variable `var`, `None` when it is unset.
    pub fn from_env(var: &str) -> Result<Option<Self>> {
        match std::env::var(var) {
            Ok(v) => Pin::new(v).map(Some).map_err(|e| Error::PinSource {
                what: format!("environment variable {var}"),
                reason: e.to_string(),
            }),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::PinSource {
                what: format!("environment variable {var}"),
                reason: "not valid UTF-8".into(),
            }),
        }
    }

    /// Reads the PIN from the first line of a file (trailing newline removed).
    pub fn from_file(path: &Path) -> Result<Self> {
        let what = || format!("PIN file {}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| Error::PinSource {
            what: what(),
            reason: e.to_string(),
        })?;
        let line = text.lines().next().unwrap_or("");
        Pin::new(line).map_err(|e| Error::PinSource {
            what: what(),
            reason: e.to_string(),
        })
    }

    /// A random PIN of `len` characters from the OS CSPRNG (letters and digits).
    pub fn generate(len: usize) -> Result<Self> {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        let mut out = String::with_capacity(len);
        while out.len() < len {
            let mut b = [0u8; 64];
            getrandom::fill(&mut b).map_err(|e| Error::PinSource {
                what: "the OS random source".into(),
                reason: e.to_string(),
            })?;
            // Rejection sampling keeps the distribution uniform.
            let limit = 256 - (256 % ALPHABET.len());
            for x in b {
                if (x as usize) < limit && out.len() < len {
                    out.push(ALPHABET[x as usize % ALPHABET.len()] as char);
                }
            }
        }
        Ok(Pin(out))
    }

    /// The secret value, for writing a generated PIN to its 0600 file.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn auth(&self) -> cryptoki::types::AuthPin {
        cryptoki::types::AuthPin::from(self.0.clone())
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let p = Pin::new("s3cret-1234").unwrap();
        assert!(!format!("{p:?}").contains("s3cret"));
        assert!(!format!("{p}").contains("s3cret"));
    }

    #[test]
    fn empty_and_control_pins_are_refused() {
        assert!(Pin::new("").is_err());
        assert!(Pin::new("ab\ncd").is_err());
    }

    #[test]
    fn generated_pins_have_the_length_and_alphabet() {
        let p = Pin::generate(24).unwrap();
        assert_eq!(p.expose().len(), 24);
        assert!(p.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(p, Pin::generate(24).unwrap());
    }
}
