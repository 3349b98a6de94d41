//! `hsmca issue`: a certificate from a CSR under a profile.

use std::io::Read;

use ca_core::clock::{Clock, SystemClock};
use ca_core::issue::{Issuance, Overrides, San};
use ca_core::store::CaStore;

use crate::cli::IssueArgs;
use crate::context::Env;
use crate::error::{CliError, CliResult};
use crate::output::{pem_certificate, write_atomically};
use crate::runtime;

const ACTOR: &str = "crypto-officer:cli";

/// What `hsmca issue` was given: one CSR, or a directory of them.
enum Input {
    One(Vec<u8>),
    Batch(Vec<super::issue_batch::Request>),
}

pub(crate) fn run(env: &Env, args: &IssueArgs) -> CliResult {
    // Read (and, for a batch, checked) before the HSM and the database are opened.
    let input = match (&args.csr, &args.batch, &args.out_dir) {
        (_, Some(dir), Some(out_dir)) => {
            Input::Batch(super::issue_batch::read_requests(dir, out_dir)?)
        }
        (Some(path), None, _) => Input::One(read_csr(path)?),
        _ => {
            return Err(CliError::input(
                "give --csr FILE, or --batch DIR with --out-dir DIR",
            ))
        }
    };
    let sans = if args.sans.is_empty() {
        None
    } else {
        Some(
            args.sans
                .iter()
                .map(|s| San::parse(s))
                .collect::<Result<Vec<_>, _>>()?,
        )
    };
    let profiles = runtime::profiles(env)?;
    let profile = profiles.get(&args.profile).ok_or_else(|| {
        CliError::input(format!(
            "no profile named {:?} (known: {})",
            args.profile,
            profiles.names().join(", ")
        ))
    })?;
    let blocklist = runtime::blocklist(env)?;
    let store = env.open_store()?;
    let ca = runtime::ca_record(&store, &args.ca)?;
    let token = env.open_token()?;
    let issuer = runtime::issuer(&token, &ca)?;
    let issuance = Issuance {
        issuer: &issuer,
        ca: &ca,
        profile,
        blocklist: &blocklist,
        certs: &store,
        actor: ACTOR,
    };
    let overrides = Overrides {
        sans,
        days: args.days,
    };
    let csr = match input {
        Input::One(csr) => csr,
        Input::Batch(requests) => {
            return super::issue_batch::issue(&issuance, &requests, &overrides, args.signers)
        }
    };
    let out = issuance.issue_csr(&csr, &overrides, SystemClock.now())?;
    if out.issued.revoked_while_pending {
        return Err(revoked_while_pending(&out.issued.serial));
    }
    note_dropped(None, &out.dropped_extensions, &profile.name);
    let pem = pem_certificate(&out.issued.der)?;
    match &args.out {
        Some(path) => write_atomically(path, pem.as_bytes())?,
        None => print!("{pem}"),
    }
    if let Some(path) = &args.chain {
        let mut chain = pem.clone();
        let mut next = Some(ca.clone());
        while let Some(c) = next {
            if c.parent.is_none() {
                break;
            }
            chain.push_str(&pem_certificate(&c.certificate_der)?);
            next = match &c.parent {
                Some(p) => store.ca(p)?,
                None => None,
            };
        }
        write_atomically(path, chain.as_bytes())?;
    }
    eprintln!(
        "hsmca: issued serial {} under profile {}",
        out.issued.serial, profile.name
    );
    Ok(())
}

/// The failure of a request whose serial was revoked while it was pending (between its
/// record and the stored certificate): signed and stored, but not a usable certificate,
/// so it is not written out.
pub(super) fn revoked_while_pending(serial: &ca_core::serial::Serial) -> CliError {
    CliError::op(format!(
        "serial {serial} was revoked while it was being issued: the certificate is stored and \
         recorded as revoked, and not written out (`hsmca cert show {serial}` has it)"
    ))
}

/// Tells the operator which extensions a request asked for that its certificate does not
/// carry (the profile drops them); `request` names the request file in a batch.
pub(super) fn note_dropped(
    request: Option<&str>,
    dropped: &[const_oid::ObjectIdentifier],
    profile: &str,
) {
    let from = request.map(|r| format!("{r}: ")).unwrap_or_default();
    for oid in dropped {
        eprintln!(
            "hsmca: note: {from}the request asked for {}; profile {profile} does not take it and the certificate does not carry it",
            ca_core::issue::lints::extension_label(oid),
        );
    }
}

/// Reads a CSR file (`-`: standard input), at most [`ca_core::csr::MAX_CSR_INPUT`] bytes
/// plus one, so that an oversized input is refused by the parser with its size named.
pub(super) fn read_csr(path: &std::path::Path) -> CliResult<Vec<u8>> {
    let limit = ca_core::csr::MAX_CSR_INPUT as u64 + 1;
    let mut buf = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| {
                CliError::input(format!("cannot read the CSR from standard input: {e}"))
            })?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut buf))
            .map_err(|e| CliError::input(format!("cannot read CSR {}: {e}", path.display())))?;
    }
    Ok(buf)
}
