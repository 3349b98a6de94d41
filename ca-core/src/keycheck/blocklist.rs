//! The blocklist of weak or compromised keys.
//!
//! File format: UTF-8 text, one entry per line: the SHA-256 of the key's DER
//! SubjectPublicKeyInfo as 64 hex digits (either case). `#` starts a comment, to the end of the
//! line; blank lines are ignored. Any other line is an error naming its line number.
//!
//! ```text
//! # Debian OpenSSL PRNG keys, imported 2026-11-01
//! 3f1c9a…e07b
//! 9A0B…44C1   # leaked in incident 42
//! ```
//! The hash is over the exact DER. Since [`super::check_public_key`] accepts only canonical
//! encodings (rsaEncryption with NULL parameters, named curves, uncompressed points), one key has
//! one accepted SubjectPublicKeyInfo, so one hash covers it. Compute an entry with
//! `openssl pkey -pubin -in key.pem -outform DER | sha256sum`.

use std::collections::HashSet;
use std::path::Path;

use crate::error::{Error, Result};

/// A set of SHA-256 hashes of SubjectPublicKeyInfos that must not be certified.
#[derive(Debug, Clone, Default)]
pub struct Blocklist {
    hashes: HashSet<[u8; 32]>,
}

impl Blocklist {
    /// A blocklist with no entries.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Reads a blocklist file (format in the module documentation).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid("blocklist", format!("cannot read {}: {e}", path.display()))
        })?;
        Self::parse(&text)
            .map_err(|e| Error::invalid("blocklist", format!("{}: {e}", path.display())))
    }

    /// Parses blocklist text; the error says which line is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut hashes = HashSet::new();
        for (i, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or("").trim();
            if entry.is_empty() {
                continue;
            }
            let mut hash = [0u8; 32];
            hex::decode_to_slice(entry, &mut hash).map_err(|_| {
                format!(
                    "line {}: expected a SHA-256 hash as 64 hex digits, found {entry:?}",
                    i + 1
                )
            })?;
            hashes.insert(hash);
        }
        Ok(Blocklist { hashes })
    }

    /// Whether the SubjectPublicKeyInfo with this SHA-256 is blocked.
    pub fn contains(&self, spki_sha256: &[u8; 32]) -> bool {
        self.hashes.contains(spki_sha256)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_comments_and_blank_lines() {
        let a = "ab".repeat(32);
        let b = "CD".repeat(32);
        let text = format!("# header\n\n{a}\n  {b}  # trailing comment\n");
        let list = Blocklist::parse(&text).unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.contains(&[0xab; 32]));
        assert!(list.contains(&[0xcd; 32]));
        assert!(!list.contains(&[0; 32]));
        assert!(Blocklist::empty().is_empty());
    }

    #[test]
    fn refuses_malformed_lines_by_number() {
        let err = Blocklist::parse("# ok\nnot-hex\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        let short = "ab".repeat(31);
        assert!(Blocklist::parse(&short).is_err());
        let long = "ab".repeat(33);
        assert!(Blocklist::parse(&long).is_err());
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let err = Blocklist::load("/nonexistent/blocklist.txt").unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/blocklist.txt"),
            "{err}"
        );
    }
}
