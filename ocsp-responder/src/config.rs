//! `[ocsp]` in the hsmca configuration file: what the responder signs with, how long its
//! responses live, and how it treats nonces and never-issued serials. Every field is
//! documented in `docs/ocsp.md`; unknown fields are refused.

use serde::Deserialize;

/// Who signs the responses of a CA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignerMode {
    /// A delegated responder (RFC 6960 §4.2.2.2): its own key in the HSM and an
    /// `ocsp-signing` certificate from the CA, renewed before it expires. The default.
    #[default]
    Delegated,
    /// The CA key itself.
    Ca,
}

/// What to do with a request that carries a nonce (RFC 8954).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoncePolicy {
    /// Answer with the pre-signed response, without the nonce (RFC 5019 §2.2.1). The
    /// default: a nonce then costs nothing, and cannot be used to make the HSM sign.
    #[default]
    Ignore,
    /// Sign a response on demand that echoes the nonce.
    Echo,
}

/// How to answer for serials a CA never issued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownPolicy {
    /// `unknown` (RFC 6960 §2.2). The default.
    #[default]
    Unknown,
    /// `revoked`, certificateHold at 1970-01-01 (BR §7.3, RFC 6960 §2.2).
    Revoked,
}

/// `[ocsp]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcspConfig {
    /// Serve OCSP from `hsmca serve`. Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `delegated` (default) or `ca`.
    #[serde(default)]
    pub signer: SignerMode,
    /// Validity of delegated responder certificates, in days, 3 to 30 (the `ocsp-signing`
    /// profile's maximum). Default 30. A responder is renewed when less than twice the
    /// response validity plus one day remains, so it must be longer than that.
    #[serde(default = "default_signer_days")]
    pub signer_validity_days: u32,
    /// Response validity (nextUpdate − thisUpdate), in hours, 8 to 240 (BR §4.9.10).
    /// Default 96. Responses are re-signed at half-life.
    #[serde(default = "default_validity_hours")]
    pub validity_hours: u32,
    /// `ignore` (default) or `echo`.
    #[serde(default)]
    pub nonce: NoncePolicy,
    /// `unknown` (default) or `revoked`.
    #[serde(default)]
    pub unknown_serials: UnknownPolicy,
    /// Largest request accepted, in bytes, 128 to 65536. Default 4096. Larger bodies get
    /// HTTP 413 before they are parsed.
    #[serde(default = "default_max_request")]
    pub max_request_bytes: usize,
    /// Most certificates asked about in one request, 1 to 64. Default 16.
    #[serde(default = "default_max_certs")]
    pub max_certs_per_request: usize,
    /// Most on-demand signatures waiting or running at once, 1 to 4096. Default 128. Beyond
    /// it a request that needs a signature is answered `tryLater` at once, so a flood of
    /// never-issued serials or nonces cannot queue without bound in front of the HSM;
    /// pre-signed answers are unaffected.
    #[serde(default = "default_signing_queue")]
    pub max_signing_queue: usize,
    /// How often the refresher looks for responses to sign, in seconds, 1 to 3600.
    /// Default 60.
    #[serde(default = "default_refresh")]
    pub refresh_interval_seconds: u64,
    /// How often the store's change feed is read (revocations and responses signed by
    /// other nodes), in milliseconds, 50 to 5000. Default 250.
    #[serde(default = "default_follow")]
    pub follow_interval_ms: u64,
    /// CAs to answer for, by name. Default: every CA in the store.
    #[serde(default)]
    pub cas: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}
fn default_signer_days() -> u32 {
    30
}
fn default_validity_hours() -> u32 {
    96
}
fn default_max_request() -> usize {
    4096
}
fn default_max_certs() -> usize {
    16
}
fn default_signing_queue() -> usize {
    128
}
fn default_refresh() -> u64 {
    60
}
fn default_follow() -> u64 {
    250
}

impl Default for OcspConfig {
    fn default() -> Self {
        OcspConfig {
            enabled: true,
            signer: SignerMode::default(),
            signer_validity_days: default_signer_days(),
            validity_hours: default_validity_hours(),
            nonce: NoncePolicy::default(),
            unknown_serials: UnknownPolicy::default(),
            max_request_bytes: default_max_request(),
            max_certs_per_request: default_max_certs(),
            max_signing_queue: default_signing_queue(),
            refresh_interval_seconds: default_refresh(),
            follow_interval_ms: default_follow(),
            cas: None,
        }
    }
}

impl OcspConfig {
    /// Checks every limit; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let range = |name: &str, v: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!("ocsp.{name} {v} is outside {lo} to {hi}"))
            }
        };
        range("validity_hours", self.validity_hours.into(), 8, 240)?;
        range(
            "signer_validity_days",
            self.signer_validity_days.into(),
            3,
            30,
        )?;
        range(
            "max_request_bytes",
            self.max_request_bytes as u64,
            128,
            65536,
        )?;
        range(
            "max_certs_per_request",
            self.max_certs_per_request as u64,
            1,
            64,
        )?;
        range(
            "refresh_interval_seconds",
            self.refresh_interval_seconds,
            1,
            3600,
        )?;
        range("follow_interval_ms", self.follow_interval_ms, 50, 5000)?;
        if self.signer == SignerMode::Delegated
            && u64::from(self.signer_validity_days) * 24 <= self.renew_margin_hours()
        {
            return Err(format!(
                "ocsp.signer_validity_days {} is too short for ocsp.validity_hours {}: a \
                 responder certificate must outlive twice the response validity plus a day",
                self.signer_validity_days, self.validity_hours
            ));
        }
        Ok(())
    }

    /// A delegated responder is renewed once less than this many hours of it remain:
    /// every response it signed must expire before it does, with a day to spare.
    pub fn renew_margin_hours(&self) -> u64 {
        2 * u64::from(self.validity_hours) + 24
    }

    /// Response validity as a duration.
    pub fn validity(&self) -> chrono::Duration {
        chrono::Duration::hours(self.validity_hours.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_unknown_fields_refused() {
        let c: OcspConfig = toml::from_str("").unwrap();
        assert_eq!(c, OcspConfig::default());
        c.validate().unwrap();
        let err = toml::from_str::<OcspConfig>("nonces = \"echo\"").unwrap_err();
        assert!(err.to_string().contains("nonces"), "{err}");
    }

    #[test]
    fn limits_name_the_field() {
        for (text, field) in [
            ("validity_hours = 7", "validity_hours"),
            ("validity_hours = 241", "validity_hours"),
            ("max_request_bytes = 10", "max_request_bytes"),
            ("follow_interval_ms = 10000", "follow_interval_ms"),
            (
                "signer_validity_days = 10\nvalidity_hours = 240",
                "signer_validity_days",
            ),
        ] {
            let c: OcspConfig = toml::from_str(text).unwrap();
            let err = c.validate().unwrap_err();
            assert!(err.contains(field), "{text}: {err}");
        }
        let ca_signed: OcspConfig =
            toml::from_str("signer = \"ca\"\nsigner_validity_days = 3\nvalidity_hours = 240")
                .unwrap();
        ca_signed.validate().unwrap();
    }
}
