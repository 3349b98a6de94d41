//! Turning HTTP input into an OCSP request: the POST body, or the GET path segment that
//! carries the base64 of the DER request, URL-encoded or not (RFC 5019 §5, RFC 6960
//! Appendix A.1).

use const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE;
use der::Decode;
use x509_cert::ext::Extension;

use ca_core::ocsp::asn1::{CertId, OcspRequest};

/// Why a request was refused as `malformedRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

/// A decoded request: the certificates asked about and the nonce, if any.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// One CertID per certificate, in request order.
    pub ids: Vec<CertId>,
    /// The nonce extension (RFC 8954), as sent.
    pub nonce: Option<Extension>,
}

/// Decodes a DER `OCSPRequest` (strict DER: BER, trailing bytes and an empty request list
/// are refused), with at most `max_certs` entries.
pub fn parse(der: &[u8], max_certs: usize) -> Result<Parsed, Malformed> {
    let req =
        OcspRequest::from_der(der).map_err(|e| Malformed(format!("not a DER OCSPRequest: {e}")))?;
    let tbs = req.tbs_request;
    if tbs.request_list.is_empty() {
        return Err(Malformed("the request list is empty".into()));
    }
    if tbs.request_list.len() > max_certs {
        return Err(Malformed(format!(
            "{} certificates asked about; at most {max_certs} per request",
            tbs.request_list.len()
        )));
    }
    let nonce = tbs
        .request_extensions
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.extn_id == ID_PKIX_OCSP_NONCE);
    Ok(Parsed {
        ids: tbs.request_list.into_iter().map(|r| r.req_cert).collect(),
        nonce,
    })
}

/// The nonce's value length (RFC 8954 §2.1: the extnValue is an OCTET STRING holding an
/// OCTET STRING of 1 to 32 octets).
pub fn nonce_len(nonce: &Extension) -> Result<usize, Malformed> {
    let inner = der::asn1::OctetString::from_der(nonce.extn_value.as_bytes())
        .map_err(|e| Malformed(format!("nonce is not an OCTET STRING: {e}")))?;
    let n = inner.as_bytes().len();
    if !(1..=32).contains(&n) {
        return Err(Malformed(format!(
            "nonce of {n} octets; RFC 8954 allows 1 to 32"
        )));
    }
    Ok(n)
}

/// Decodes the GET path segment: percent-decoding, then base64 (standard alphabet,
/// padding optional; a `+` turned into a space by a form encoder is put back). The result
/// is at most `limit` bytes, else `Err(None)` (too large) — `Err(Some(_))` for bad input.
pub fn decode_get(segment: &str, limit: usize) -> Result<Vec<u8>, Option<Malformed>> {
    // base64 of `limit` bytes is at most 4 * ceil(limit / 3) characters, each at most
    // three when percent-encoded.
    if segment.len() > 12 * limit.div_ceil(3) {
        return Err(None);
    }
    // One pass: percent-decoding, a space back to `+`, whitespace dropped.
    let b = segment.as_bytes();
    let mut text = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Some(Malformed("bad percent-encoding in the GET path".into())))?;
            i += 3;
            hex
        } else {
            i += 1;
            b[i - 1]
        };
        match c {
            b' ' => text.push(b'+'),
            c if c.is_ascii_whitespace() => {}
            c => text.push(c),
        }
    }
    while text.last() == Some(&b'=') {
        text.pop();
    }
    let text = std::str::from_utf8(&text)
        .map_err(|_| Some(Malformed("the GET path is not base64".into())))?;
    use base64ct::{Base64Unpadded, Encoding};
    let bytes = Base64Unpadded::decode_vec(text)
        .map_err(|e| Some(Malformed(format!("the GET path is not base64: {e}"))))?;
    if bytes.len() > limit {
        return Err(None);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_segments_decode_with_and_without_url_encoding() {
        let raw = [0x30u8, 0x03, 0x02, 0x01, 0xff, 0xfb];
        use base64ct::{Base64, Encoding};
        let b64 = Base64::encode_string(&raw);
        assert!(b64.contains('/') || b64.contains('+') || b64.contains('='));
        let encoded = b64
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        assert_eq!(decode_get(&b64, 100).unwrap(), raw);
        assert_eq!(decode_get(&encoded, 100).unwrap(), raw);
        assert_eq!(decode_get(&b64.replace('+', " "), 100).unwrap(), raw);
        assert_eq!(decode_get(b64.trim_end_matches('='), 100).unwrap(), raw);
    }

    #[test]
    fn bad_and_oversized_get_segments_are_told_apart() {
        assert!(matches!(decode_get("%zz", 100), Err(Some(_))));
        assert!(matches!(decode_get("!!!!", 100), Err(Some(_))));
        assert!(matches!(decode_get(&"A".repeat(2000), 100), Err(None)));
        assert!(matches!(decode_get(&"A".repeat(200), 100), Err(None)));
    }

    #[test]
    fn empty_truncated_and_trailing_garbage_requests_are_malformed() {
        assert!(parse(&[], 16).is_err());
        assert!(parse(&[0x30, 0x05, 0x30, 0x03], 16).is_err());
        // An empty request list: SEQUENCE { SEQUENCE { SEQUENCE {} } }.
        let empty = [0x30, 0x04, 0x30, 0x02, 0x30, 0x00];
        assert_eq!(
            parse(&empty, 16).unwrap_err(),
            Malformed("the request list is empty".into())
        );
        let mut trailing = empty.to_vec();
        trailing.push(0);
        assert!(parse(&trailing, 16).is_err());
    }
}
