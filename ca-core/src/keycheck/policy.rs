//! Which subscriber keys a CA accepts.
//!
//! In TOML (every field optional; the defaults shown):
//! ```toml
//! allow_rsa = true
//! rsa_min_bits = 2048
//! rsa_max_bits = 8192
//! rsa_exponents = [65537]
//! allow_p256 = true
//! allow_p384 = true
//! allow_p521 = false
//! allow_ed25519 = false
//! # blocklist = "/etc/hsmca/blocked-keys.txt"
//! ```

use std::path::PathBuf;

use serde::Deserialize;

use super::blocklist::Blocklist;
use super::decode::{RSA_MAX_DECODE_BITS, RSA_MAX_EXPONENT};
use crate::error::{Error, Result};

/// The smallest `rsa_min_bits` a policy may set.
pub const RSA_MIN_BITS_FLOOR: u32 = 2048;

/// Key policy. Deserialize it, then call [`KeyPolicy::validate`] (which
/// [`super::check_public_key`] also calls).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyPolicy {
    /// Accept RSA keys (rsaEncryption). Default true.
    pub allow_rsa: bool,
    /// Smallest RSA modulus, in bits. Default 2048; at least 2048 and a multiple of 8.
    pub rsa_min_bits: u32,
    /// Largest RSA modulus, in bits: larger keys cost verifiers time (a denial of service).
    /// Default 8192; at least `rsa_min_bits`, at most 16384.
    pub rsa_max_bits: u32,
    /// Allowed RSA public exponents. Default `[65537]`. Each must be odd, at least 3 and at most
    /// 2^33 − 1; exponent 1 and even exponents are refused whatever this says.
    pub rsa_exponents: Vec<u64>,
    /// Accept ECDSA keys on P-256. Default true.
    pub allow_p256: bool,
    /// Accept ECDSA keys on P-384. Default true.
    pub allow_p384: bool,
    /// Accept ECDSA keys on P-521. Default false.
    pub allow_p521: bool,
    /// Accept Ed25519 keys (RFC 8410). Default false.
    pub allow_ed25519: bool,
    /// A file of blocked keys (format in [`Blocklist`]), read by [`KeyPolicy::load_blocklist`].
    /// Default none. A relative path is relative to the process's working directory.
    pub blocklist: Option<PathBuf>,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        KeyPolicy {
            allow_rsa: true,
            rsa_min_bits: 2048,
            rsa_max_bits: 8192,
            rsa_exponents: vec![65537],
            allow_p256: true,
            allow_p384: true,
            allow_p521: false,
            allow_ed25519: false,
            blocklist: None,
        }
    }
}

impl KeyPolicy {
    /// Refuses a policy that would accept what must never be accepted, or nothing at all.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(Error::invalid("key policy", reason));
        if !(self.allow_rsa
            || self.allow_p256
            || self.allow_p384
            || self.allow_p521
            || self.allow_ed25519)
        {
            return bad("no key kind is allowed".into());
        }
        if self.rsa_min_bits < RSA_MIN_BITS_FLOOR || !self.rsa_min_bits.is_multiple_of(8) {
            return bad(format!(
                "rsa_min_bits = {}: must be a multiple of 8 and at least {RSA_MIN_BITS_FLOOR}",
                self.rsa_min_bits
            ));
        }
        if self.rsa_max_bits < self.rsa_min_bits || self.rsa_max_bits > RSA_MAX_DECODE_BITS {
            return bad(format!(
                "rsa_max_bits = {}: must be between rsa_min_bits ({}) and {RSA_MAX_DECODE_BITS}",
                self.rsa_max_bits, self.rsa_min_bits
            ));
        }
        if self.allow_rsa && self.rsa_exponents.is_empty() {
            return bad("rsa_exponents is empty while RSA is allowed".into());
        }
        if let Some(e) = self
            .rsa_exponents
            .iter()
            .find(|e| **e < 3 || **e % 2 == 0 || **e > RSA_MAX_EXPONENT)
        {
            return bad(format!(
                "rsa_exponents contains {e}: exponents must be odd, at least 3 and at most 2^33 - 1"
            ));
        }
        Ok(())
    }

    /// The blocklist this policy names, or an empty one.
    pub fn load_blocklist(&self) -> Result<Blocklist> {
        match &self.blocklist {
            Some(path) => Blocklist::load(path),
            None => Ok(Blocklist::empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_what_the_docs_say() {
        let p = KeyPolicy::default();
        p.validate().unwrap();
        assert_eq!(p.rsa_exponents, [65537]);
        assert_eq!((p.rsa_min_bits, p.rsa_max_bits), (2048, 8192));
        assert!(!p.allow_p521 && !p.allow_ed25519);
        let from_toml: KeyPolicy = toml::from_str("").unwrap();
        assert_eq!(from_toml, p);
    }

    #[test]
    fn toml_fields_and_unknown_fields() {
        let p: KeyPolicy =
            toml::from_str("rsa_min_bits = 3072\nallow_ed25519 = true\nrsa_exponents = [3, 65537]")
                .unwrap();
        p.validate().unwrap();
        assert_eq!(p.rsa_min_bits, 3072);
        assert!(p.allow_ed25519);
        assert!(toml::from_str::<KeyPolicy>("rsa_bits = 2048").is_err());
    }

    #[test]
    fn refuses_unsafe_policies() {
        let with = |f: fn(&mut KeyPolicy)| {
            let mut p = KeyPolicy::default();
            f(&mut p);
            p.validate()
        };
        assert!(with(|p| p.rsa_min_bits = 1024).is_err());
        assert!(with(|p| p.rsa_min_bits = 2050).is_err());
        assert!(with(|p| p.rsa_max_bits = 32768).is_err());
        assert!(with(|p| p.rsa_max_bits = 2040).is_err());
        assert!(with(|p| p.rsa_exponents = vec![1]).is_err());
        assert!(with(|p| p.rsa_exponents = vec![65536]).is_err());
        assert!(with(|p| p.rsa_exponents = vec![]).is_err());
        assert!(with(|p| {
            p.allow_rsa = false;
            p.allow_p256 = false;
            p.allow_p384 = false;
        })
        .is_err());
        assert!(with(|p| p.rsa_exponents = vec![3, 65537]).is_ok());
    }
}
