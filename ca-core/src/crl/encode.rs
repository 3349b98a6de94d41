//! Streaming CRL encoder.
//!
//! ```text
//! CertificateList  ::=  SEQUENCE  {
//!      tbsCertList          TBSCertList,
//!      signatureAlgorithm   AlgorithmIdentifier,
//!      signatureValue       BIT STRING  }
//!
//! TBSCertList  ::=  SEQUENCE  {
//!      version                 Version OPTIONAL, -- if present, MUST be v2
//!      signature               AlgorithmIdentifier,
//!      issuer                  Name,
//!      thisUpdate              Time,
//!      nextUpdate              Time OPTIONAL,
//!      revokedCertificates     SEQUENCE OF SEQUENCE  {
//!           userCertificate         CertificateSerialNumber,
//!           revocationDate          Time,
//!           crlEntryExtensions      Extensions OPTIONAL }  OPTIONAL,
//!      crlExtensions           [0]  EXPLICIT Extensions OPTIONAL }
//! ```
//! (RFC 5280 §5.1.) Every field and every entry is a typed value encoded by `der`
//! (x509-cert's `RevokedCert`, `Version`, `Time`, extensions); only the headers of the
//! two SEQUENCEs that enclose the entry list (`TBSCertList`, `revokedCertificates`) and of
//! `CertificateList` are written with [`der::Header`], because their contents are never in
//! memory. Entries are encoded once into a spool file while their total length is counted;
//! the TBS is then streamed through the signature's hash, signed in the HSM from the digest,
//! the signature verified, and the TBS streamed again into the output after the
//! `CertificateList` header. For a small list the output equals x509-cert's own
//! `CertificateList` encoding byte for byte (tested).

use std::io::{BufReader, BufWriter, Seek, SeekFrom, Write};

use chrono::NaiveDateTime;
use const_oid::db::rfc5280::{ID_CE_INVALIDITY_DATE, ID_CE_ISSUING_DISTRIBUTION_POINT};
use der::asn1::{BitString, ContextSpecific, GeneralizedTime, OctetString};
use der::{Encode, Header, Length, Tag, TagMode, TagNumber};
use hsm_backend::Prehash;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::crl::RevokedCert;
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::DistributionPointName;
use x509_cert::ext::pkix::{BaseCrlNumber, CrlNumber, CrlReason};
use x509_cert::ext::{Extension, Extensions};
use x509_cert::serial_number::SerialNumber;
use x509_cert::Version;

use crate::error::{Error, Result};
use crate::extensions::{authority_key_identifier, extension, uri};
use crate::issuer::Issuer;
use crate::store::CrlEntry;
use crate::time::to_x509;

/// What a CRL says besides its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlParams {
    /// thisUpdate.
    pub this_update: NaiveDateTime,
    /// nextUpdate.
    pub next_update: NaiveDateTime,
    /// cRLNumber (RFC 5280 §5.2.3), shared by full and delta CRLs of a CA and shard.
    pub number: i64,
    /// For a delta CRL, the base CRL's number: the critical deltaCRLIndicator (§5.2.4).
    pub base_number: Option<i64>,
    /// The URI of the critical issuingDistributionPoint (§5.2.5), byte-identical to the
    /// cRLDistributionPoints URI of the certificates this CRL covers; `None` for none.
    pub distribution_point: Option<String>,
}

/// A written CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCrl {
    /// Entries listed.
    pub entries: u64,
    /// Length of the DER.
    pub der_len: u64,
    /// SHA-256 of the DER.
    pub sha256: Vec<u8>,
}

/// CRLReason codes as the `reasonCode` entry extension (§5.3.1); `unspecified` (0) is left
/// out, as the CA/B Forum BR §7.2.2 require.
fn reason_extension(code: u8) -> Result<Option<Extension>> {
    match crate::revocation::crl_reason(code) {
        Some(CrlReason::Unspecified) => Ok(None),
        Some(reason) => Ok(Some(extension(&reason, false)?)),
        None => Err(Error::invalid("revocation reason", format!("code {code}"))),
    }
}

/// `invalidityDate ::= GeneralizedTime` (§5.3.2), non-critical.
fn invalidity_extension(t: NaiveDateTime) -> Result<Extension> {
    let secs = u64::try_from(t.and_utc().timestamp())
        .map_err(|_| Error::invalid("invalidity date", "before 1970"))?;
    let gt = GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))?;
    Ok(Extension {
        extn_id: ID_CE_INVALIDITY_DATE,
        critical: false,
        extn_value: OctetString::new(gt.to_der()?)?,
    })
}

/// The typed entry for one revoked certificate.
pub fn revoked_cert(entry: &CrlEntry) -> Result<RevokedCert> {
    let mut exts = Vec::new();
    if let Some(r) = reason_extension(entry.reason)? {
        exts.push(r);
    }
    if let Some(t) = entry.invalidity_date {
        exts.push(invalidity_extension(t)?);
    }
    Ok(RevokedCert {
        serial_number: SerialNumber::new(entry.serial.as_bytes())?,
        revocation_date: to_x509(entry.revoked_at)?,
        crl_entry_extensions: (!exts.is_empty()).then_some(exts),
    })
}

/// The CRL extensions: authorityKeyIdentifier, cRLNumber, and when asked the critical
/// deltaCRLIndicator and issuingDistributionPoint.
pub fn crl_extensions(issuer: &Issuer, p: &CrlParams) -> Result<Extensions> {
    let number = |n: i64| -> Result<der::asn1::Uint> {
        let n = u64::try_from(n)
            .map_err(|_| Error::invalid("CRL number", format!("{n} is negative")))?;
        let bytes = n.to_be_bytes();
        let start = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        Ok(der::asn1::Uint::new(&bytes[start..])?)
    };
    let mut exts = vec![
        authority_key_identifier(issuer.key_id())?,
        extension(&CrlNumber(number(p.number)?), false)?,
    ];
    if let Some(base) = p.base_number {
        exts.push(extension(&BaseCrlNumber(number(base)?), true)?);
    }
    if let Some(url) = &p.distribution_point {
        let idp = IssuingDistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![uri(url, "crl")?])),
            only_contains_user_certs: false,
            only_contains_ca_certs: false,
            only_some_reasons: None,
            indirect_crl: false,
            only_contains_attribute_certs: false,
        };
        // Not `extension(&idp, …)`: x509-cert 0.3.0 gives IssuingDistributionPoint the OID
        // of subjectInfoAccess (1.3.6.1.5.5.7.1.11); the right one is id-ce 28.
        exts.push(Extension {
            extn_id: ID_CE_ISSUING_DISTRIBUTION_POINT,
            critical: true,
            extn_value: OctetString::new(idp.to_der()?)?,
        });
    }
    Ok(exts)
}

/// A writer that feeds everything to a hash and counts it.
struct Hashing<W> {
    inner: W,
    hash: HashState,
    written: u64,
}

enum HashState {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
    /// No prehash (Ed25519): the whole TBS is kept to be signed.
    Whole(Vec<u8>),
}

impl HashState {
    fn new(p: Option<Prehash>) -> Self {
        match p {
            Some(Prehash::Sha256) => HashState::Sha256(Sha256::new()),
            Some(Prehash::Sha384) => HashState::Sha384(Sha384::new()),
            Some(Prehash::Sha512) => HashState::Sha512(Sha512::new()),
            None => HashState::Whole(Vec::new()),
        }
    }
    fn update(&mut self, b: &[u8]) {
        match self {
            HashState::Sha256(h) => h.update(b),
            HashState::Sha384(h) => h.update(b),
            HashState::Sha512(h) => h.update(b),
            HashState::Whole(v) => v.extend_from_slice(b),
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn io(e: std::io::Error) -> Error {
    Error::Encoding(format!("CRL spool or output: {e}"))
}

fn header(tag: Tag, len: u64) -> Result<Vec<u8>> {
    let len = Length::try_from(
        usize::try_from(len).map_err(|_| Error::Encoding("CRL too large".into()))?,
    )?;
    Ok(Header::new(tag, len).to_der()?)
}

/// The parts of the TBS around the entries, encoded.
struct TbsFrame {
    /// TBSCertList header, version … nextUpdate, and the revokedCertificates header.
    head: Vec<u8>,
    /// `[0] EXPLICIT Extensions`.
    tail: Vec<u8>,
    /// Total TBS length including its header.
    total: u64,
}

fn frame(issuer: &Issuer, p: &CrlParams, entries_len: u64, entries: u64) -> Result<TbsFrame> {
    let mut fields = Vec::new();
    Version::V2.encode_to_vec(&mut fields)?;
    issuer.key().algorithm().encode_to_vec(&mut fields)?;
    issuer.subject().encode_to_vec(&mut fields)?;
    to_x509(p.this_update)?.encode_to_vec(&mut fields)?;
    to_x509(p.next_update)?.encode_to_vec(&mut fields)?;
    // revokedCertificates is absent, not empty, when nothing is revoked (§5.1.2.6).
    let list_header = if entries > 0 {
        header(Tag::Sequence, entries_len)?
    } else {
        Vec::new()
    };
    let tail = ContextSpecific {
        tag_number: TagNumber(0),
        tag_mode: TagMode::Explicit,
        value: crl_extensions(issuer, p)?,
    }
    .to_der()?;
    let list_len = if entries > 0 {
        list_header.len() as u64 + entries_len
    } else {
        0
    };
    let inner = fields.len() as u64 + list_len + tail.len() as u64;
    let mut head = header(Tag::Sequence, inner)?;
    let total = head.len() as u64 + inner;
    head.extend_from_slice(&fields);
    head.extend_from_slice(&list_header);
    Ok(TbsFrame { head, tail, total })
}

/// Writes the TBS: head, the spooled entries, tail.
fn emit_tbs(f: &TbsFrame, spool: &mut std::fs::File, out: &mut impl Write) -> Result<()> {
    out.write_all(&f.head).map_err(io)?;
    spool.seek(SeekFrom::Start(0)).map_err(io)?;
    std::io::copy(&mut BufReader::with_capacity(1 << 20, &mut *spool), out).map_err(io)?;
    out.write_all(&f.tail).map_err(io)
}

/// Writes a signed CRL of `issuer` to `out`.
///
/// Entries come from `next_page`, called until it returns an empty page, in the order they
/// are to be listed. `spool` is an empty scratch file (its contents are overwritten). The
/// HSM signs the digest of the TBS (or, for Ed25519, the TBS itself, which is then held
/// in memory) and the signature is verified in software before the CRL is completed.
pub fn write_crl(
    issuer: &Issuer,
    params: &CrlParams,
    mut next_page: impl FnMut() -> Result<Vec<CrlEntry>>,
    spool: &mut std::fs::File,
    out: &mut impl Write,
) -> Result<SignedCrl> {
    if params.next_update <= params.this_update {
        return Err(Error::invalid("CRL", "nextUpdate must be after thisUpdate"));
    }
    spool.set_len(0).map_err(io)?;
    spool.seek(SeekFrom::Start(0)).map_err(io)?;
    let (mut entries, mut entries_len) = (0u64, 0u64);
    {
        let mut w = BufWriter::with_capacity(1 << 20, &mut *spool);
        let mut buf = Vec::with_capacity(64);
        loop {
            let page = next_page()?;
            if page.is_empty() {
                break;
            }
            for e in &page {
                buf.clear();
                revoked_cert(e)?.encode_to_vec(&mut buf)?;
                w.write_all(&buf).map_err(io)?;
                entries_len += buf.len() as u64;
                entries += 1;
            }
        }
        w.flush().map_err(io)?;
    }
    let frame = frame(issuer, params, entries_len, entries)?;
    let key = issuer.key();
    let scheme = key.scheme();
    let mut hashing = Hashing {
        inner: std::io::sink(),
        hash: HashState::new(scheme.prehash()),
        written: 0,
    };
    emit_tbs(&frame, spool, &mut hashing)?;
    if hashing.written != frame.total {
        return Err(Error::Encoding(format!(
            "CRL TBS is {} bytes, its header says {}",
            hashing.written, frame.total
        )));
    }
    let signature = match hashing.hash {
        HashState::Whole(tbs) => {
            let sig = key.sign(&tbs)?;
            crate::verify::verify_signature(scheme, key.spki_der(), &tbs, &sig).map_err(
                |detail| Error::BadSignature {
                    serial: "CRL".into(),
                    detail,
                },
            )?;
            sig
        }
        other => {
            let digest = match other {
                HashState::Sha256(h) => h.finalize().to_vec(),
                HashState::Sha384(h) => h.finalize().to_vec(),
                HashState::Sha512(h) => h.finalize().to_vec(),
                HashState::Whole(_) => unreachable!("handled above"),
            };
            let sig = key.sign_prehashed(&digest)?;
            crate::verify::verify_prehashed(scheme, key.spki_der(), &digest, &sig).map_err(
                |detail| Error::BadSignature {
                    serial: "CRL".into(),
                    detail,
                },
            )?;
            sig
        }
    };
    let algorithm = key.algorithm().to_der()?;
    let signature = BitString::from_bytes(&signature)?.to_der()?;
    let body = frame.total + algorithm.len() as u64 + signature.len() as u64;
    let mut outer = Hashing {
        inner: BufWriter::with_capacity(1 << 20, out),
        hash: HashState::new(Some(Prehash::Sha256)),
        written: 0,
    };
    outer.write_all(&header(Tag::Sequence, body)?).map_err(io)?;
    emit_tbs(&frame, spool, &mut outer)?;
    outer.write_all(&algorithm).map_err(io)?;
    outer.write_all(&signature).map_err(io)?;
    outer.flush().map_err(io)?;
    let sha256 = match outer.hash {
        HashState::Sha256(h) => h.finalize().to_vec(),
        _ => unreachable!("created as SHA-256"),
    };
    Ok(SignedCrl {
        entries,
        der_len: outer.written,
        sha256,
    })
}
