//! The `hsmca` binary: admin CLI.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod config;
mod context;
mod datadir;
mod error;
mod output;
mod runtime;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::context::Env;
use crate::error::{CliError, CliResult};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_json);
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsmca: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: &Cli) -> CliResult {
    if cli.pin.is_some() || cli.so_pin.is_some() || cli.user_pin.is_some() {
        return Err(CliError::input(
            "PINs are not accepted on the command line (they would show in the process list); \
             set HSMCA_SO_PIN / HSMCA_USER_PIN or hsm.so_pin_file / hsm.user_pin_file",
        ));
    }
    let env = Env::setup(cli)?;
    match &cli.command {
        Command::Init(args) => commands::init::run(&env, args),
        Command::Ca(cmd) => commands::ca::run(&env, cmd),
        Command::Hsm(cmd) => commands::hsm::run(&env, cmd),
        Command::Issue(args) => commands::issue::run(&env, args),
        Command::Cert(cmd) => commands::cert::run(&env, cmd),
        Command::Revoke(args) => commands::revoke::run(&env, args),
        Command::Reconcile(args) => commands::reconcile::run(&env, args),
        Command::Profile(cmd) => commands::profile::run(&env, cmd),
        Command::Serve(args) => commands::serve::run(&env, args),
        Command::Crl(cmd) => commands::crl::run(&env, cmd),
    }
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HSMCA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
