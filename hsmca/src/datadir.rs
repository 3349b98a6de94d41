//! The data directory: SQLite file, SoftHSM2 token directory and config, secrets (0600).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hsm_backend::Pin;

use crate::config::Config;
use crate::error::{CliError, CliResult};

/// Paths inside the data directory.
#[derive(Debug, Clone)]
pub(crate) struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub(crate) fn new(root: PathBuf) -> Self {
        DataDir { root }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn sqlite_path(&self) -> PathBuf {
        self.root.join("hsmca.db")
    }

    /// Sockets of running `hsmca serve` processes (see `ocsp_responder::nudge`).
    pub(crate) fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    pub(crate) fn softhsm_conf(&self) -> PathBuf {
        self.root.join("softhsm2.conf")
    }

    fn token_dir(&self) -> PathBuf {
        self.root.join("softhsm").join("tokens")
    }

    pub(crate) fn secret(&self, name: &str) -> PathBuf {
        self.root.join("secrets").join(name)
    }

    /// Creates the directory (0700) if missing.
    pub(crate) fn create(&self) -> CliResult {
        fs::create_dir_all(&self.root).map_err(|e| io_err(&self.root, e))?;
        let _ = fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700));
        Ok(())
    }

    /// Writes the embedded SoftHSM2 config and token directory if missing.
    pub(crate) fn ensure_softhsm(&self) -> CliResult<PathBuf> {
        let conf = self.softhsm_conf();
        let tokens = self.token_dir();
        fs::create_dir_all(&tokens).map_err(|e| io_err(&tokens, e))?;
        let _ = fs::set_permissions(&tokens, fs::Permissions::from_mode(0o700));
        if !conf.exists() {
            let text = format!(
                "# Written by hsmca for the embedded SoftHSM2 token.\n\
                 directories.tokendir = {}\n\
                 objectstore.backend = file\n\
                 log.level = ERROR\n\
                 slots.removable = false\n",
                tokens.display()
            );
            write_private(&conf, text.as_bytes())?;
        }
        Ok(conf)
    }

    /// Writes a generated secret (0600, in a 0700 directory); refuses to overwrite.
    pub(crate) fn write_secret(&self, name: &str, pin: &Pin) -> CliResult<PathBuf> {
        let dir = self.root.join("secrets");
        fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| io_err(&dir, e))?;
        let path = dir.join(name);
        write_private(&path, format!("{}\n", pin.expose()).as_bytes())?;
        Ok(path)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> CliResult {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    f.write_all(bytes).map_err(|e| io_err(path, e))?;
    f.sync_all().map_err(|e| io_err(path, e))
}

fn io_err(path: &Path, e: std::io::Error) -> CliError {
    CliError::op(format!("{}: {e}", path.display()))
}

/// Where a PIN came from.
pub(crate) enum PinSource {
    Found(Pin),
    Missing,
}

/// Resolves a PIN: environment variable, then the config's file, then the data directory's
/// generated secret.
pub(crate) fn resolve_pin(
    env_var: &str,
    config_file: Option<&Path>,
    data: &DataDir,
    secret_name: &str,
) -> CliResult<PinSource> {
    if let Some(p) = Pin::from_env(env_var)? {
        return Ok(PinSource::Found(p));
    }
    if let Some(f) = config_file {
        return Ok(PinSource::Found(Pin::from_file(f)?));
    }
    let generated = data.secret(secret_name);
    if generated.exists() {
        return Ok(PinSource::Found(Pin::from_file(&generated)?));
    }
    Ok(PinSource::Missing)
}

/// The user PIN, or an error that says where to put it.
pub(crate) fn user_pin(config: &Config, data: &DataDir) -> CliResult<Pin> {
    match resolve_pin(
        "HSMCA_USER_PIN",
        config.hsm.user_pin_file.as_deref(),
        data,
        "user.pin",
    )? {
        PinSource::Found(p) => Ok(p),
        PinSource::Missing => Err(CliError::input(format!(
            "no user PIN: set HSMCA_USER_PIN or hsm.user_pin_file, or run `hsmca init` to generate {}",
            data.secret("user.pin").display()
        ))),
    }
}
