//! From the bytes a client sent to the DER of one CSR: size limit, PEM or DER, nothing after it.
//!
//! PEM (RFC 7468 §7) is accepted with the label `CERTIFICATE REQUEST` or the older
//! `NEW CERTIFICATE REQUEST`; only whitespace may stand before the BEGIN line or after the END
//! line. DER must be exactly one TLV with a definite, minimal length (X.690 §10.1): the `der`
//! crate without its `ber` feature refuses indefinite lengths and non-minimal encodings.

use std::cmp::Ordering;

use der::{Decode, Header, Reader, SliceReader};

use crate::error::{Error, Result};

/// Largest input accepted, in bytes, checked before any parsing. A CSR with an RSA-8192 key and
/// a few hundred SANs is well under this.
pub const MAX_CSR_INPUT: usize = 64 * 1024;

const PEM_BEGIN: &[u8] = b"-----BEGIN ";
const PEM_END: &[u8] = b"-----END ";
const PEM_LABELS: [&str; 2] = ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"];

/// The DER of the CSR in `input`, framing checked (see the module documentation).
pub(crate) fn csr_der(input: &[u8]) -> Result<Vec<u8>> {
    if input.is_empty() {
        return Err(refuse("empty input"));
    }
    if input.len() > MAX_CSR_INPUT {
        return Err(refuse(format!(
            "input of {} bytes is over the limit of {MAX_CSR_INPUT} bytes",
            input.len()
        )));
    }
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or_else(|| refuse("input is only whitespace"))?;
    let der = if input[start..].starts_with(PEM_BEGIN) {
        from_pem(&input[start..])?
    } else if start == 0 && input[0] == 0x30 {
        input.to_vec()
    } else {
        return Err(refuse(
            "input is neither DER (a SEQUENCE) nor PEM (-----BEGIN CERTIFICATE REQUEST-----)",
        ));
    };
    check_framing(&der)?;
    Ok(der)
}

/// Decodes one PEM block that starts `pem`; only whitespace may follow it.
fn from_pem(pem: &[u8]) -> Result<Vec<u8>> {
    let end = find(pem, PEM_END).ok_or_else(|| refuse("PEM without an END line"))?;
    let close = find(&pem[end + PEM_END.len()..], b"-----")
        .map(|i| end + PEM_END.len() + i + 5)
        .ok_or_else(|| refuse("PEM END line is not closed by -----"))?;
    if let Some(extra) = pem[close..].iter().position(|b| !b.is_ascii_whitespace()) {
        return Err(refuse(format!(
            "{} bytes of data after the PEM END line",
            pem.len() - close - extra
        )));
    }
    let (label, der) =
        der::pem::decode_vec(&pem[..close]).map_err(|e| refuse(format!("bad PEM: {e}")))?;
    if !PEM_LABELS.contains(&label) {
        return Err(refuse(format!(
            "PEM label {label:?} is not CERTIFICATE REQUEST"
        )));
    }
    Ok(der)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One outer TLV with a definite DER length and nothing after it.
fn check_framing(der: &[u8]) -> Result<()> {
    match der.get(1..) {
        Some([0x80, ..]) => {
            return Err(refuse(
                "indefinite length (BER) is not DER: send the CSR in DER",
            ))
        }
        // Long form with a leading zero octet, or for a length that fits the short form.
        Some([0x81, 0..=0x7f, ..]) | Some([0x82..=0x84, 0, ..]) => {
            return Err(refuse(
                "length in a longer form than needed (BER) is not DER: send the CSR in DER",
            ))
        }
        _ => {}
    }
    let mut reader = SliceReader::new(der).map_err(|e| refuse(format!("not valid DER: {e}")))?;
    let header = Header::decode(&mut reader).map_err(|e| refuse(format!("not valid DER: {e}")))?;
    let total = (reader.position() + header.length())
        .ok()
        .and_then(|t| usize::try_from(t).ok())
        .ok_or_else(|| refuse("length overflows"))?;
    match total.cmp(&der.len()) {
        Ordering::Less => Err(refuse(format!(
            "{} bytes of trailing data after the CSR",
            der.len() - total
        ))),
        Ordering::Greater => Err(refuse("truncated: the CSR is shorter than its length says")),
        Ordering::Equal => Ok(()),
    }
}

/// The `version` of a request that did not decode, if it got that far.
pub(crate) fn peek_version(der: &[u8]) -> Option<i64> {
    let mut reader = SliceReader::new(der).ok()?;
    Header::decode(&mut reader).ok()?;
    Header::decode(&mut reader).ok()?;
    i64::decode(&mut reader).ok()
}

pub(crate) fn refuse(reason: impl Into<String>) -> Error {
    Error::invalid("CSR", reason)
}
