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
    /// Issue a certificate from a CSR under a profile.
    Issue(IssueArgs),
    /// Issued certificates.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Revoke a certificate.
    Revoke(RevokeArgs),
    /// Resolve `pending` records left by a crash between signing and storing.
    Reconcile(ReconcileArgs),
    /// Certificate profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Serve OCSP and CRLs over HTTP, with /healthz, /readyz and /metrics.
    Serve(ServeArgs),
    /// Certificate revocation lists.
    #[command(subcommand)]
    Crl(CrlCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum CrlCommand {
    /// Generate, sign and publish CRLs now.
    Generate(CrlGenerateArgs),
    /// Show the latest published CRL of a CA's shard.
    Show(CrlShowArgs),
    /// List the CRLs signed so far, newest first.
    List(CrlListArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CrlGenerateArgs {
    /// Only this CA (default: every CA).
    #[arg(long)]
    pub(crate) ca: Option<String>,
    /// Only this shard (needs --ca).
    #[arg(long, requires = "ca")]
    pub(crate) shard: Option<i32>,
    /// Delta CRLs (against the latest full CRL of each shard) instead of full ones.
    #[arg(long)]
    pub(crate) delta: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CrlShowArgs {
    /// The CA.
    #[arg(long)]
    pub(crate) ca: String,
    /// The shard (default 0).
    #[arg(long, default_value_t = 0)]
    pub(crate) shard: i32,
    /// The delta CRL instead of the full one.
    #[arg(long)]
    pub(crate) delta: bool,
    /// Print the published CRL itself, as PEM.
    #[arg(long, conflicts_with = "json")]
    pub(crate) pem: bool,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CrlListArgs {
    /// Only this CA's CRLs.
    #[arg(long)]
    pub(crate) ca: Option<String>,
    /// At most this many (default 50).
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: u32,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on instead of `serve.listen` (port 0 picks a free port; the
    /// address is printed once bound).
    #[arg(long)]
    pub(crate) listen: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct IssueArgs {
    /// Issuing CA name.
    #[arg(long)]
    pub(crate) ca: String,
    /// Profile name (`hsmca profile list`).
    #[arg(long)]
    pub(crate) profile: String,
    /// The CSR, PEM or DER (`-` for standard input).
    #[arg(long, required_unless_present = "batch", conflicts_with = "batch")]
    pub(crate) csr: Option<PathBuf>,
    /// Subject alternative name to certify instead of the CSR's (repeatable):
    /// `dns:NAME`, `ip:ADDR`, `email:ADDR`, `uri:URI`, or a bare DNS name or IP address.
    #[arg(long = "san", conflicts_with = "batch")]
    pub(crate) sans: Vec<String>,
    /// Validity in days (default: the profile's default).
    #[arg(long)]
    pub(crate) days: Option<u32>,
    /// Where to write the certificate (PEM); standard output when absent.
    #[arg(long, conflicts_with = "batch")]
    pub(crate) out: Option<PathBuf>,
    /// Where to write the chain (PEM): the certificate, then the issuing CAs up to but
    /// excluding the root.
    #[arg(long, conflicts_with = "batch")]
    pub(crate) chain: Option<PathBuf>,
    /// Issue for every CSR file in this directory (`*.csr`, `*.pem`, `*.der`; at most
    /// 100,000), each checked as a single request would be, in one pipelined run.
    #[arg(long, requires = "out_dir")]
    pub(crate) batch: Option<PathBuf>,
    /// With `--batch`: where to write each certificate, as `NAME.pem` for the request
    /// file `NAME.csr` (or `.pem`, `.der`). Must exist.
    #[arg(long, requires = "batch")]
    pub(crate) out_dir: Option<PathBuf>,
    /// With `--batch`: HSM sessions signing at once, 1 to 64 (default 2).
    #[arg(long, requires = "batch", default_value_t = 2,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) signers: u16,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CertCommand {
    /// List certificate records.
    List(CertListArgs),
    /// Show one certificate record.
    Show(CertShowArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CertListArgs {
    /// Only this CA's certificates.
    #[arg(long)]
    pub(crate) ca: Option<String>,
    /// Only this status: pending, issued, revoked.
    #[arg(long)]
    pub(crate) status: Option<String>,
    /// Only unexpired certificates expiring within this many days.
    #[arg(long)]
    pub(crate) expiring_within: Option<u32>,
    /// At most this many records.
    #[arg(long)]
    pub(crate) limit: Option<u32>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CertShowArgs {
    /// Serial number in hex (as `openssl x509 -serial` prints it; `:` separators allowed).
    pub(crate) serial: String,
    /// Print the certificate alone, as PEM.
    #[arg(long, conflicts_with = "json")]
    pub(crate) pem: bool,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    /// Serial number in hex.
    pub(crate) serial: String,
    /// RFC 5280 reason: unspecified, keyCompromise, cACompromise, affiliationChanged,
    /// superseded, cessationOfOperation, privilegeWithdrawn, aACompromise
    /// (certificateHold only when enabled).
    #[arg(long)]
    pub(crate) reason: String,
    /// When the key is known or suspected to have been compromised (RFC 3339, UTC).
    #[arg(long)]
    pub(crate) invalidity_date: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ReconcileArgs {
    /// Revoke pending records (cessationOfOperation) instead of completing them.
    #[arg(long)]
    pub(crate) revoke: bool,
    /// Only records older than this many seconds (default 60: leave in-flight issuance alone).
    #[arg(long, default_value_t = 60)]
    pub(crate) older_than: u32,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProfileCommand {
    /// List the profiles.
    List(JsonFlag),
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
