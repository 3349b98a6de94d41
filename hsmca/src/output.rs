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
