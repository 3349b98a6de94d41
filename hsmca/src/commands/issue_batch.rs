//! `hsmca issue --batch DIR --out-dir OUT`: a certificate for every CSR file in a
//! directory, through the issuing pipeline (`ca_core::issue::pipeline`).
//!
//! The directory is read, and every output name checked, before anything is issued: a
//! missing or unreadable directory, no request files, too many, two requests that would
//! write the same certificate file, or a certificate file that exists already, refuse the
//! whole batch with exit status 2 and nothing issued. After that, each request stands
//! alone: a bad one is reported on standard error and issues nothing; the others are
//! issued. Standard output gets one line per certificate issued, `FILE SERIAL`, in the
//! order they are stored (not the order of the files).
//!
//! Each certificate file is written whole or not at all (a temporary file linked into
//! place, which fails rather than replace a file that appeared meanwhile), without waiting
//! for the disk file by file: the database holds every certificate durably before it is
//! written out, and `hsmca cert show SERIAL --pem` gives it again should a crash lose the
//! file.

use std::io::Write;
use std::path::{Path, PathBuf};

use ca_core::clock::{Clock, SystemClock};
use ca_core::issue::{Issuance, Overrides};

use crate::error::{CliError, CliResult};
use crate::output::{pem_certificate, write_new_unsynced};

/// The most request files one batch takes.
pub(crate) const MAX_BATCH_FILES: usize = 100_000;

/// File name endings taken as CSR files.
const CSR_EXTENSIONS: [&str; 3] = ["csr", "pem", "der"];

/// One request file and where its certificate goes.
#[derive(Debug)]
pub(crate) struct Request {
    /// The request's file name, as reported.
    name: String,
    /// The CSR bytes.
    csr: Vec<u8>,
    /// `OUT/NAME.pem`.
    out: PathBuf,
}

/// Reads every CSR file of `dir` (sorted by name) and plans its output in `out_dir`.
pub(crate) fn read_requests(dir: &Path, out_dir: &Path) -> CliResult<Vec<Request>> {
    if !out_dir.is_dir() {
        return Err(CliError::input(format!(
            "--out-dir {} is not a directory",
            out_dir.display()
        )));
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::input(format!("cannot read --batch {}: {e}", dir.display())))?;
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry
            .map_err(|e| CliError::input(format!("cannot read --batch {}: {e}", dir.display())))?;
        let path = entry.path();
        let is_csr = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| CSR_EXTENSIONS.contains(&e));
        if is_csr && path.is_file() {
            files.push((entry.file_name().to_string_lossy().into_owned(), path));
        }
    }
    if files.is_empty() {
        return Err(CliError::input(format!(
            "no CSR files (*.csr, *.pem, *.der) in {}",
            dir.display()
        )));
    }
    if files.len() > MAX_BATCH_FILES {
        return Err(CliError::input(format!(
            "{} holds {} CSR files; one batch takes at most {MAX_BATCH_FILES}",
            dir.display(),
            files.len()
        )));
    }
    files.sort();
    let mut outs: std::collections::HashMap<PathBuf, String> = Default::default();
    let mut requests = Vec::with_capacity(files.len());
    for (name, path) in files {
        // `NAME.csr` → `NAME.pem`, dots in NAME kept (`www.example.com.csr`).
        let mut file = path.file_stem().unwrap_or_default().to_owned();
        file.push(".pem");
        let out = out_dir.join(file);
        if let Some(other) = outs.insert(out.clone(), name.clone()) {
            return Err(CliError::input(format!(
                "{other} and {name} would both be written to {}; nothing issued",
                out.display()
            )));
        }
        if out.exists() {
            return Err(CliError::input(format!(
                "{} exists already (for {name}); nothing issued",
                out.display()
            )));
        }
        let csr = super::issue::read_csr(&path)?;
        requests.push(Request { name, csr, out });
    }
    Ok(requests)
}

/// Issues every request through the pipeline with `signers` HSM sessions signing at once,
/// writes each certificate, and reports each failure.
pub(crate) fn issue(
    issuance: &Issuance<'_>,
    requests: &[Request],
    overrides: &Overrides,
    signers: u16,
) -> CliResult {
    let csrs: Vec<&[u8]> = requests.iter().map(|r| r.csr.as_slice()).collect();
    let (mut issued, mut bad_input, mut operational) = (0usize, 0usize, 0usize);
    let mut stdout = std::io::stdout().lock();
    let mut stdout_gone = false;
    // Each certificate is written out as soon as it is stored, while the rest are issued.
    let now = SystemClock.now();
    issuance.issue_csrs_each(&csrs, overrides, now, signers.into(), |i, result| {
        let request = &requests[i];
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                eprintln!("hsmca: {}: {e}", request.name);
                if e.is_bad_input() {
                    bad_input += 1;
                } else {
                    operational += 1;
                }
                return;
            }
        };
        if out.issued.revoked_while_pending {
            let e = super::issue::revoked_while_pending(&out.issued.serial);
            eprintln!("hsmca: {}: {e}", request.name);
            operational += 1;
            return;
        }
        super::issue::note_dropped(
            Some(&request.name),
            &out.dropped_extensions,
            &issuance.profile.name,
        );
        let written = pem_certificate(&out.issued.der)
            .and_then(|pem| write_new_unsynced(&request.out, pem.as_bytes()));
        if let Err(e) = written {
            eprintln!(
                "hsmca: {}: issued and recorded serial {}, but writing {} failed: {e} (`hsmca cert show {}` has it)",
                request.name,
                out.issued.serial,
                request.out.display(),
                out.issued.serial
            );
            operational += 1;
            return;
        }
        // A closed standard output (`| head`) must not stop the batch half-way.
        if writeln!(stdout, "{} {}", request.name, out.issued.serial).is_err() && !stdout_gone {
            stdout_gone = true;
            eprintln!("hsmca: standard output is closed; the certificates are still written");
        }
        issued += 1;
    });
    eprintln!(
        "hsmca: issued {issued} of {} certificates under profile {}",
        requests.len(),
        issuance.profile.name
    );
    let failed = bad_input + operational;
    if failed == 0 {
        return Ok(());
    }
    let msg = format!(
        "{failed} of {} requests failed (each named above); the others were issued",
        requests.len()
    );
    Err(if operational > 0 {
        CliError::op(msg)
    } else {
        CliError::input(msg)
    })
}
