//! Command-line interface definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// hsmca: a certificate authority whose keys live in an HSM.
#[derive(Debug, Parser)]
#[command(name = "hsmca", version, about)]
pub(crate) struct Cli {
    /// Data directory (SQLite file, SoftHSM2 token, secrets). Default ./hsmca-data.
    #[arg(long, global = true, env = "HSMCA_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Configuration file (TOML). Default DATA_DIR/hsmca.toml if it exists.
    #[arg(long, global = true, env = "HSMCA_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Log as JSON lines on stderr.
    #[arg(long, global = true)]
    pub(crate) log_json: bool,
    /// Refused: PINs never come from the command line.
    #[arg(long, global = true, hide = true, num_args = 0..=1)]
    pub(crate) pin: Option<Option<String>>,
    /// Refused: PINs never come from the command line.
    #[arg(long, global = true, hide = true, num_args = 0..=1)]
    pub(crate) so_pin: Option<Option<String>>,
    /// Refused: PINs never come from the command line.
    #[arg(long, global = true, hide = true, num_args = 0..=1)]
    pub(crate) user_pin: Option<Option<String>>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create the token if needed, generate CA keys in the HSM and run the key ceremony.
    Init(InitArgs),
    /// Certificate authorities.
    #[command(subcommand)]
    Ca(CaCommand),
    /// The HSM: module, token, login state and keys.
    #[command(subcommand)]
    Hsm(HsmCommand),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Ceremony file (TOML). Default: the shipped ceremony/default.toml.
    #[arg(long)]
    pub(crate) ceremony: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CaCommand {
    /// List the CAs.
    List(JsonFlag),
    /// Show one CA: a readable summary, its PEM certificate, or JSON.
    Show(CaShowArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CaShowArgs {
    /// CA name (`root`, `issuing`).
    pub(crate) name: String,
    /// Print the certificate alone, as PEM.
    #[arg(long, conflicts_with = "json")]
    pub(crate) pem: bool,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct JsonFlag {
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum HsmCommand {
    /// Module, token and login state, and the number of keys.
    Status(JsonFlag),
    /// Key objects on the token.
    Keys(JsonFlag),
}
