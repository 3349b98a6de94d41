//! `[crl]` in the hsmca configuration file. Every field is documented in
//! `docs/configuration.md`; unknown fields are refused.

use std::path::PathBuf;

use serde::Deserialize;

/// `[crl]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrlConfig {
    /// Publish CRLs on a schedule from `hsmca serve` and serve them over HTTP. Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Directory CRLs are published to. Default `DATA_DIR/crl`.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Validity (nextUpdate − thisUpdate) of the CRLs of CAs that issue subscriber
    /// certificates, in hours, 1 to 240 (BR §4.9.7: at most 10 days). Default 168.
    #[serde(default = "default_validity")]
    pub validity_hours: u32,
    /// Validity of a root CA's CRL (it lists CA certificates), in hours, 1 to 8784
    /// (BR §4.9.7: at most 12 months). Default 720.
    #[serde(default = "default_root_validity")]
    pub root_validity_hours: u32,
    /// Validity of delta CRLs, in hours, 1 to 240. Default 24.
    #[serde(default = "default_delta_validity")]
    pub delta_validity_hours: u32,
    /// Full CRLs are regenerated this often, in seconds, 60 to 86400, and at most half
    /// their validity. Default 3600.
    #[serde(default = "default_interval")]
    pub interval_seconds: u64,
    /// Delta CRLs (for CAs with a `delta_crl` URL) are regenerated this often, in seconds,
    /// 60 to 86400. Default 900.
    #[serde(default = "default_delta_interval")]
    pub delta_interval_seconds: u64,
    /// After a revocation, the affected shard's CRL (and delta CRL) is regenerated within
    /// this many seconds, 0 to 3600. Default 60.
    #[serde(default = "default_delay")]
    pub revocation_delay_seconds: u64,
}

fn yes() -> bool {
    true
}
fn default_validity() -> u32 {
    168
}
fn default_root_validity() -> u32 {
    720
}
fn default_delta_validity() -> u32 {
    24
}
fn default_interval() -> u64 {
    3600
}
fn default_delta_interval() -> u64 {
    900
}
fn default_delay() -> u64 {
    60
}

impl Default for CrlConfig {
    fn default() -> Self {
        CrlConfig {
            enabled: true,
            dir: None,
            validity_hours: default_validity(),
            root_validity_hours: default_root_validity(),
            delta_validity_hours: default_delta_validity(),
            interval_seconds: default_interval(),
            delta_interval_seconds: default_delta_interval(),
            revocation_delay_seconds: default_delay(),
        }
    }
}

impl CrlConfig {
    /// Checks every limit; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let range = |name: &str, v: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!("crl.{name} {v} is outside {lo} to {hi}"))
            }
        };
        range("validity_hours", self.validity_hours.into(), 1, 240)?;
        range(
            "root_validity_hours",
            self.root_validity_hours.into(),
            1,
            8784,
        )?;
        range(
            "delta_validity_hours",
            self.delta_validity_hours.into(),
            1,
            240,
        )?;
        range("interval_seconds", self.interval_seconds, 60, 86_400)?;
        range(
            "delta_interval_seconds",
            self.delta_interval_seconds,
            60,
            86_400,
        )?;
        range(
            "revocation_delay_seconds",
            self.revocation_delay_seconds,
            0,
            3600,
        )?;
        if self.interval_seconds * 2 > u64::from(self.validity_hours) * 3600 {
            return Err(format!(
                "crl.interval_seconds {} is more than half of crl.validity_hours {}: a CRL \
                 must be replaced well before it expires",
                self.interval_seconds, self.validity_hours
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_unknown_fields_refused() {
        let c: CrlConfig = toml::from_str("").unwrap();
        assert_eq!(c, CrlConfig::default());
        c.validate().unwrap();
        let err = toml::from_str::<CrlConfig>("validity = 3").unwrap_err();
        assert!(err.to_string().contains("validity"), "{err}");
    }

    #[test]
    fn limits_name_the_field() {
        for (text, field) in [
            ("validity_hours = 241", "validity_hours"),
            ("validity_hours = 0", "validity_hours"),
            (
                "revocation_delay_seconds = 4000",
                "revocation_delay_seconds",
            ),
            ("interval_seconds = 10", "interval_seconds"),
            (
                "validity_hours = 1\ninterval_seconds = 3600",
                "interval_seconds",
            ),
        ] {
            let c: CrlConfig = toml::from_str(text).unwrap();
            let err = c.validate().unwrap_err();
            assert!(err.contains(field), "{text}: {err}");
        }
    }
}
