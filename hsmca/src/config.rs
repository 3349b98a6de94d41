//! The configuration file (TOML, unknown fields refused). Every field is documented in
//! `docs/configuration.md`; `examples/` has one file per deployment shape.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{CliError, CliResult};

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// `[hsm]`.
    #[serde(default)]
    pub(crate) hsm: HsmConfig,
    /// `[database]`.
    #[serde(default)]
    pub(crate) database: DatabaseConfig,
    /// `[issuance]`.
    #[serde(default)]
    pub(crate) issuance: IssuanceConfig,
    /// `[serve]`.
    #[serde(default)]
    pub(crate) serve: ServeConfig,
    /// `[ocsp]`.
    #[serde(default)]
    pub(crate) ocsp: ocsp_responder::OcspConfig,
    /// `[crl]`.
    #[serde(default)]
    pub(crate) crl: crl_publisher::CrlConfig,
}

/// `[serve]`: the HTTP listener of `hsmca serve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServeConfig {
    /// Address and port for plain HTTP (OCSP, health, metrics). Default `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub(crate) listen: String,
    /// HTTP worker threads, 1 to 64. Default 2.
    #[serde(default = "default_workers")]
    pub(crate) workers: usize,
    /// Time a client has to send a request's head, and then its body, in milliseconds,
    /// 100 to 60000. Default 5000.
    #[serde(default = "default_request_timeout")]
    pub(crate) request_timeout_ms: u64,
    /// Idle keep-alive, in seconds, 0 to 300 (0 closes after each response). Default 30.
    #[serde(default = "default_keep_alive")]
    pub(crate) keep_alive_seconds: u64,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: default_listen(),
            workers: default_workers(),
            request_timeout_ms: default_request_timeout(),
            keep_alive_seconds: default_keep_alive(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_workers() -> usize {
    2
}
fn default_request_timeout() -> u64 {
    5000
}
fn default_keep_alive() -> u64 {
    30
}

/// `[issuance]`: profiles, key blocklist, revocation policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssuanceConfig {
    /// Directory of profile TOML files that add to or replace the shipped profiles by name.
    pub(crate) profiles_dir: Option<PathBuf>,
    /// File of blocked subscriber keys: SHA-256 of the DER SubjectPublicKeyInfo in hex, one
    /// per line, `#` comments.
    pub(crate) key_blocklist: Option<PathBuf>,
    /// Accept the certificateHold revocation reason. Default false.
    #[serde(default)]
    pub(crate) allow_certificate_hold: bool,
}

/// `[hsm]`: which PKCS#11 module and token, and where PINs come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HsmConfig {
    /// Path of the PKCS#11 module. Default: SoftHSM2's module.
    #[serde(default = "default_module")]
    pub(crate) module: PathBuf,
    /// Token (partition) label, 1 to 32 printable ASCII characters. Default `hsmca`.
    #[serde(default = "default_token")]
    pub(crate) token_label: String,
    /// Keep a SoftHSM2 token directory inside the data directory (`DATA_DIR/softhsm/`) and
    /// point SoftHSM2 at it. Default true; set false to use `SOFTHSM2_CONF` from the
    /// environment or a hardware HSM.
    #[serde(default = "default_true")]
    pub(crate) embedded_softhsm: bool,
    /// File holding the Security Officer PIN (first line). `HSMCA_SO_PIN` wins over it.
    pub(crate) so_pin_file: Option<PathBuf>,
    /// File holding the Crypto User PIN (first line). `HSMCA_USER_PIN` wins over it.
    pub(crate) user_pin_file: Option<PathBuf>,
}

impl Default for HsmConfig {
    fn default() -> Self {
        HsmConfig {
            module: default_module(),
            token_label: default_token(),
            embedded_softhsm: true,
            so_pin_file: None,
            user_pin_file: None,
        }
    }
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatabaseConfig {
    /// `postgres://…` or a SQLite path / `sqlite://PATH`. Default `DATA_DIR/hsmca.db`.
    /// `HSMCA_DATABASE_URL` wins over it.
    pub(crate) url: Option<String>,
    /// Connections in the pool, 1 to 256. Default 8.
    #[serde(default = "default_pool")]
    pub(crate) pool_size: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            pool_size: default_pool(),
        }
    }
}

fn default_module() -> PathBuf {
    PathBuf::from(hsm_backend::SOFTHSM2_MODULE)
}
fn default_token() -> String {
    "hsmca".into()
}
fn default_true() -> bool {
    true
}
fn default_pool() -> u32 {
    8
}

impl Config {
    /// Reads `path`, or `DATA_DIR/hsmca.toml` when it exists, or the defaults.
    pub(crate) fn load(explicit: Option<&Path>, data_dir: &Path) -> CliResult<Config> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = data_dir.join("hsmca.toml");
                if !p.exists() {
                    return Ok(Config::default());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            CliError::input(format!("cannot read config file {}: {e}", path.display()))
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| {
            CliError::input(format!(
                "invalid config file {}: {}",
                path.display(),
                e.to_string().trim()
            ))
        })?;
        if !(1..=256).contains(&config.database.pool_size) {
            return Err(CliError::input(format!(
                "invalid config file {}: database.pool_size {} is outside 1 to 256",
                path.display(),
                config.database.pool_size
            )));
        }
        let bad =
            |msg: String| CliError::input(format!("invalid config file {}: {msg}", path.display()));
        let s = &config.serve;
        if !(1..=64).contains(&s.workers) {
            return Err(bad(format!(
                "serve.workers {} is outside 1 to 64",
                s.workers
            )));
        }
        if !(100..=60_000).contains(&s.request_timeout_ms) {
            return Err(bad(format!(
                "serve.request_timeout_ms {} is outside 100 to 60000",
                s.request_timeout_ms
            )));
        }
        if s.keep_alive_seconds > 300 {
            return Err(bad(format!(
                "serve.keep_alive_seconds {} is outside 0 to 300",
                s.keep_alive_seconds
            )));
        }
        config.ocsp.validate().map_err(bad)?;
        config.crl.validate().map_err(bad)?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_example_configs_parse() {
        for (name, text) in [
            (
                "single-node",
                include_str!("../../examples/single-node.toml"),
            ),
            ("postgres", include_str!("../../examples/postgres.toml")),
        ] {
            let c: Config = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!c.hsm.token_label.is_empty(), "{name}");
        }
    }

    #[test]
    fn unknown_fields_are_refused_with_their_name() {
        let err = toml::from_str::<Config>("[database]\nurll = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("urll"), "{err}");
    }
}
