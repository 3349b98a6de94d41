//! Output helpers: PEM, fingerprints, JSON.

use der::pem::LineEnding;
use sha2::{Digest, Sha256};

use crate::error::{CliError, CliResult};

/// PEM text of a DER certificate.
pub(crate) fn pem_certificate(der: &[u8]) -> CliResult<String> {
    der::pem::encode_string("CERTIFICATE", LineEnding::LF, der)
        .map_err(|e| CliError::op(format!("PEM encoding: {e}")))
}

/// SHA-256 fingerprint as colon-separated uppercase hex (as `openssl x509 -fingerprint`).
pub(crate) fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Prints a JSON value on stdout.
pub(crate) fn print_json(v: &serde_json::Value) -> CliResult {
    let text = serde_json::to_string_pretty(v).map_err(|e| CliError::op(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// reader never sees half a file, and waits until the file is on disk.
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> CliResult {
    use std::io::Write;
    let tmp = temp_path(path)?;
    let io = |e: std::io::Error| CliError::op(format!("writing {}: {e}", path.display()));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Writes `bytes` to the new file `path` through a temporary file hard-linked into place:
/// a reader never sees half a file, and a file that exists at `path` is never replaced
/// (an error instead). Does not wait for the disk: for many files at once
/// (`issue --batch`), whose content the database holds durably already.
pub(crate) fn write_new_unsynced(path: &std::path::Path, bytes: &[u8]) -> CliResult {
    use std::io::Write;
    let tmp = temp_path(path)?;
    let io = |e: std::io::Error| CliError::op(format!("writing {}: {e}", path.display()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    written.map_err(io)
}

/// The temporary file beside `path` that it is written through.
fn temp_path(path: &std::path::Path) -> CliResult<std::path::PathBuf> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| CliError::input(format!("{} is not a file path", path.display())))?;
    Ok(dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    )))
}
