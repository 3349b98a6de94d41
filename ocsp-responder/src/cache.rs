//! Responses held in memory, by CertID hash and serial. SHA-1 entries mirror the store's
//! pre-signed responses; SHA-256 and never-issued ones are kept here only (the latter in a
//! bounded map that is emptied when full, so junk serials cannot grow memory).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;
use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use ca_core::ocsp::asn1 as ocsp;
use ca_core::store::CertStatus as StoredStatus;
use der::Decode;

use crate::ca::IdHash;

/// Most never-issued answers kept at once.
const NEGATIVE_CAP: usize = 10_000;

/// A signed response ready to send.
#[derive(Debug)]
pub struct Entry {
    /// Index of the CA in the responder's list.
    pub ca: usize,
    /// DER OCSPResponse.
    pub body: Bytes,
    /// thisUpdate (= producedAt).
    pub this_update: NaiveDateTime,
    /// nextUpdate.
    pub next_update: NaiveDateTime,
    /// Served from memory until then (nextUpdate, or sooner for never-issued serials).
    pub serve_until: NaiveDateTime,
    /// Quoted strong ETag.
    pub etag: String,
    /// `Last-Modified` value (thisUpdate as an HTTP date).
    pub last_modified: String,
    /// `Expires` value (nextUpdate as an HTTP date).
    pub expires: String,
    /// Store revision of the row it came from; 0 if it was never read from the store.
    pub revision: i64,
    /// The status the response states, read from `body` the first time it is needed.
    status: OnceLock<Option<(ocsp::CertStatus, StoredStatus)>>,
}

/// An HTTP date (RFC 9110 §5.6.7, IMF-fixdate).
pub fn http_date(t: NaiveDateTime) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Parses an IMF-fixdate.
pub fn parse_http_date(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s.trim(), "%a, %d %b %Y %H:%M:%S GMT").ok()
}

impl Entry {
    /// An entry for `body`.
    pub fn new(
        ca: usize,
        body: Bytes,
        this_update: NaiveDateTime,
        next_update: NaiveDateTime,
        serve_until: NaiveDateTime,
        revision: i64,
    ) -> Entry {
        let digest = Sha256::digest(&body);
        Entry {
            ca,
            etag: format!("\"{}\"", hex::encode(&digest[..16])),
            last_modified: http_date(this_update),
            expires: http_date(next_update),
            body,
            this_update,
            next_update,
            serve_until,
            revision,
            status: OnceLock::new(),
        }
    }

    /// The status this (single-certificate) response states, and the stored status it was
    /// signed for; `None` for `unknown`.
    fn status(&self) -> Option<(ocsp::CertStatus, StoredStatus)> {
        self.status
            .get_or_init(|| {
                let outer = ocsp::OcspResponse::from_der(&self.body).ok()?;
                let basic =
                    ocsp::BasicOcspResponse::from_der(outer.response_bytes?.response.as_bytes())
                        .ok()?;
                let status = basic
                    .tbs_response_data
                    .responses
                    .into_iter()
                    .next()?
                    .cert_status;
                let stored = match status {
                    ocsp::CertStatus::Good(_) => StoredStatus::Issued,
                    ocsp::CertStatus::Revoked(_) => StoredStatus::Revoked,
                    ocsp::CertStatus::Unknown(_) => return None,
                };
                Some((status, stored))
            })
            .clone()
    }
}

type Map = RwLock<HashMap<Box<[u8]>, Arc<Entry>>>;

/// The maps.
#[derive(Debug, Default)]
pub struct Cache {
    sha1: Map,
    sha256: Map,
    negative: [Map; 2],
}

fn read(m: &Map) -> std::sync::RwLockReadGuard<'_, HashMap<Box<[u8]>, Arc<Entry>>> {
    m.read().unwrap_or_else(|p| p.into_inner())
}

fn write(m: &Map) -> std::sync::RwLockWriteGuard<'_, HashMap<Box<[u8]>, Arc<Entry>>> {
    m.write().unwrap_or_else(|p| p.into_inner())
}

impl Cache {
    fn map(&self, h: IdHash) -> &Map {
        match h {
            IdHash::Sha1 => &self.sha1,
            IdHash::Sha256 => &self.sha256,
        }
    }

    fn negative(&self, h: IdHash) -> &Map {
        &self.negative[h as usize]
    }

    /// The entry for (`ca`, `h`, `serial`) that may be served at `now`.
    pub fn get(
        &self,
        ca: usize,
        h: IdHash,
        serial: &[u8],
        now: NaiveDateTime,
    ) -> Option<Arc<Entry>> {
        let usable = |e: &Arc<Entry>| e.ca == ca && now < e.serve_until;
        if let Some(e) = read(self.map(h)).get(serial).filter(|e| usable(e)) {
            return Some(e.clone());
        }
        read(self.negative(h))
            .get(serial)
            .filter(|e| usable(e))
            .cloned()
    }

    /// The status the pre-signed (SHA-1) answer for `serial` of CA `ca` gives, if one may be
    /// served at `now`: the OCSP CertStatus and the stored status it was signed for.
    pub fn presigned_status(
        &self,
        ca: usize,
        serial: &[u8],
        now: NaiveDateTime,
    ) -> Option<(ocsp::CertStatus, StoredStatus)> {
        read(&self.sha1)
            .get(serial)
            .filter(|e| e.ca == ca && now < e.serve_until)?
            .status()
    }

    /// Keeps an answer for an issued or revoked certificate. A store row replaces what is
    /// held unless that came from a later revision.
    pub fn put(&self, h: IdHash, serial: &[u8], entry: Arc<Entry>) {
        let mut m = write(self.map(h));
        if let Some(old) = m.get(serial) {
            if entry.revision != 0 && old.revision > entry.revision {
                return;
            }
        }
        m.insert(serial.into(), entry);
    }

    /// Keeps an answer for a serial the CA never issued (or one still pending).
    pub fn put_negative(&self, h: IdHash, serial: &[u8], entry: Arc<Entry>) {
        let mut m = write(self.negative(h));
        if m.len() >= NEGATIVE_CAP {
            m.clear();
        }
        m.insert(serial.into(), entry);
    }

    /// Forgets every answer for `serial` except the pre-signed SHA-1 one (the store's row
    /// changed: SHA-256 and negative answers may now be wrong).
    pub fn forget_derived(&self, serial: &[u8]) {
        write(&self.sha256).remove(serial);
        for m in &self.negative {
            write(m).remove(serial);
        }
    }

    /// Forgets the pre-signed answer for `serial` (the store marked it stale).
    pub fn forget(&self, serial: &[u8]) {
        write(&self.sha1).remove(serial);
        self.forget_derived(serial);
    }

    /// Drops entries that may no longer be served.
    pub fn sweep(&self, now: NaiveDateTime) -> usize {
        let mut dropped = 0;
        for m in [
            &self.sha1,
            &self.sha256,
            &self.negative[0],
            &self.negative[1],
        ] {
            let mut m = write(m);
            let before = m.len();
            m.retain(|_, e| now < e.serve_until);
            dropped += before - m.len();
        }
        dropped
    }

    /// Entries held (pre-signed SHA-1, others).
    pub fn sizes(&self) -> (usize, usize) {
        let others =
            read(&self.sha256).len() + self.negative.iter().map(|m| read(m).len()).sum::<usize>();
        (read(&self.sha1).len(), others)
    }
}
