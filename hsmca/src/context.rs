//! Resolving the data directory and configuration, and opening the HSM token and the store.

use std::path::PathBuf;
use std::sync::Arc;

use hsm_backend::{Module, Token};

use crate::cli::Cli;
use crate::config::Config;
use crate::datadir::{user_pin, DataDir};
use crate::error::{CliError, CliResult};

/// Everything a command needs to reach the HSM and the database.
pub(crate) struct Env {
    pub(crate) data: DataDir,
    pub(crate) config: Config,
}

impl Env {
    /// Resolves data directory and config. Must run before any thread starts: with the
    /// embedded SoftHSM2 it points `SOFTHSM2_CONF` at the data directory's config.
    pub(crate) fn setup(cli: &Cli) -> CliResult<Env> {
        let root = cli
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("hsmca-data"));
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()
                .map_err(|e| CliError::op(format!("current directory: {e}")))?
                .join(root)
        };
        let data = DataDir::new(root);
        let config = Config::load(cli.config.as_deref(), data.root())?;
        if config.hsm.embedded_softhsm {
            // SoftHSM2 reads its configuration from this variable at C_Initialize. It is set
            // here, in main, before any other thread exists.
            std::env::set_var("SOFTHSM2_CONF", data.softhsm_conf());
        }
        Ok(Env { data, config })
    }

    /// The database URL: `HSMCA_DATABASE_URL`, then `database.url`, then the SQLite file.
    pub(crate) fn database_url(&self) -> String {
        std::env::var("HSMCA_DATABASE_URL")
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| self.config.database.url.clone())
            .unwrap_or_else(|| self.data.sqlite_path().display().to_string())
    }

    /// Opens the store (running migrations), creating the data directory for SQLite.
    pub(crate) fn open_store(&self) -> CliResult<ca_store::Store> {
        let url = self.database_url();
        if !url.starts_with("postgres") {
            self.data.create()?;
        }
        ca_store::Store::open(&url, self.config.database.pool_size).map_err(CliError::from)
    }

    /// Where CRLs are published: `crl.dir`, or `DATA_DIR/crl`.
    pub(crate) fn crl_dir(&self) -> PathBuf {
        self.config
            .crl
            .dir
            .clone()
            .unwrap_or_else(|| self.data.root().join("crl"))
    }

    /// Loads the PKCS#11 module.
    pub(crate) fn module(&self) -> CliResult<Arc<Module>> {
        if self.config.hsm.embedded_softhsm && !self.data.softhsm_conf().exists() {
            return Err(CliError::input(format!(
                "data directory {} is not initialised: run `hsmca init`",
                self.data.root().display()
            )));
        }
        Ok(Module::load(&self.config.hsm.module)?)
    }

    /// Opens the token and logs in as Crypto User.
    pub(crate) fn open_token(&self) -> CliResult<Arc<Token>> {
        let module = self.module()?;
        let pin = user_pin(&self.config, &self.data)?;
        Ok(Token::open(module, &self.config.hsm.token_label, pin)?)
    }
}
