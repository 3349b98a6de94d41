//! The responder proper, without HTTP: answering a request from memory when it can
//! ([`Responder::answer_fast`], never blocks), signing when it must
//! ([`Responder::answer_slow`], store and HSM), and keeping memory in step with the store
//! ([`Responder::refresh`], [`Responder::follow`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{Duration, NaiveDateTime};
use x509_cert::ext::Extensions;

use ca_core::ocsp::asn1::{CertId, OcspResponseStatus, SingleResponse};
use ca_core::ocsp::response::{error_response, generalized, sign_response};
use ca_core::ocsp::status::{status_of, UnknownSerials};
use ca_core::serial::Serial;
use ca_core::store::{CertStatus, CertificateRecord, OcspResponseRecord};

use crate::ca::{requested_serial, CaResponder, IdHash, ResponderKey};
use crate::cache::{Cache, Entry};
use crate::config::{NoncePolicy, OcspConfig, UnknownPolicy};
use crate::error::{Error, Result};
use crate::metrics::{inc, Metrics};
use crate::request::{nonce_len, parse, Parsed};
use crate::ResponderStore;

/// How long an answer for a never-issued (or pending) serial is reused from memory.
const NEGATIVE_SECONDS: i64 = 60;
/// Certificates fetched and signed per refresher batch.
const REFRESH_BATCH: u32 = 512;
/// Change-feed rows read per query.
const FOLLOW_BATCH: u32 = 2000;

/// How a reply may be cached by HTTP clients and proxies.
#[derive(Debug, Clone)]
pub enum Caching {
    /// Cacheable until `next_update` (pre-signed and on-demand responses without a nonce).
    Until(Arc<Entry>),
    /// Not cacheable (nonce echoes, errors).
    NoStore,
}

/// A reply body and its caching.
#[derive(Debug, Clone)]
pub struct Reply {
    /// DER OCSPResponse.
    pub body: Bytes,
    /// HTTP caching.
    pub caching: Caching,
}

impl Reply {
    fn from_entry(e: Arc<Entry>) -> Reply {
        Reply {
            body: e.body.clone(),
            caching: Caching::Until(e),
        }
    }
}

/// What [`Responder::answer_fast`] decided.
#[derive(Debug)]
pub enum Outcome {
    /// Answer now.
    Reply(Reply),
    /// A signature is needed: pass this to [`Responder::answer_slow`] on a blocking thread.
    Sign(Work),
}

/// A request that needs signing.
#[derive(Debug)]
pub struct Work {
    ca: usize,
    items: Vec<(CertId, IdHash, Option<Serial>)>,
    nonce: Option<x509_cert::ext::Extension>,
}

/// The OCSP responder for a set of CAs.
pub struct Responder {
    cas: Vec<Arc<CaResponder>>,
    by_name: HashMap<String, usize>,
    config: OcspConfig,
    store: Arc<dyn ResponderStore>,
    cache: Cache,
    metrics: Metrics,
    watermark: AtomicI64,
    follow_lock: Mutex<()>,
    signing: AtomicUsize,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("cas", &self.by_name.keys().collect::<Vec<_>>())
            .field("watermark", &self.watermark.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn error_reply(status: OcspResponseStatus) -> Reply {
    // Encoding a two-field SEQUENCE cannot fail; fall back to the fixed internalError DER.
    let body = error_response(status).unwrap_or_else(|_| vec![0x30, 0x03, 0x0a, 0x01, 0x02]);
    Reply {
        body: Bytes::from(body),
        caching: Caching::NoStore,
    }
}

impl Responder {
    /// A responder for `cas`, reading and writing `store`. Memory starts empty: call
    /// [`Responder::follow`] to load the store's pre-signed responses.
    pub fn new(cas: Vec<CaResponder>, config: OcspConfig, store: Arc<dyn ResponderStore>) -> Self {
        let by_name = cas
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        Responder {
            cas: cas.into_iter().map(Arc::new).collect(),
            by_name,
            config,
            store,
            cache: Cache::default(),
            metrics: Metrics::default(),
            watermark: AtomicI64::new(0),
            follow_lock: Mutex::new(()),
            signing: AtomicUsize::new(0),
        }
    }

    /// The CAs served.
    pub fn cas(&self) -> &[Arc<CaResponder>] {
        &self.cas
    }

    /// The configuration.
    pub fn config(&self) -> &OcspConfig {
        &self.config
    }

    /// Counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Pre-signed and other entries in memory.
    pub fn cache_sizes(&self) -> (usize, usize) {
        self.cache.sizes()
    }

    /// The last store revision applied to memory.
    pub fn watermark(&self) -> i64 {
        self.watermark.load(Ordering::Acquire)
    }

    fn unknown(&self) -> UnknownSerials {
        match self.config.unknown_serials {
            UnknownPolicy::Unknown => UnknownSerials::Unknown,
            UnknownPolicy::Revoked => UnknownSerials::Revoked,
        }
    }

    /// Answers from memory, or says what must be signed. Never blocks on the store or HSM.
    pub fn answer_fast(&self, der: &[u8], now: NaiveDateTime) -> Outcome {
        let Parsed { ids, nonce } = match parse(der, self.config.max_certs_per_request) {
            Ok(p) => p,
            Err(m) => {
                tracing::debug!(reason = %m.0, "malformed OCSP request");
                inc(&self.metrics.malformed);
                return Outcome::Reply(error_reply(OcspResponseStatus::MalformedRequest));
            }
        };
        let echo = match (&nonce, self.config.nonce) {
            (Some(n), NoncePolicy::Echo) => {
                if let Err(m) = nonce_len(n) {
                    tracing::debug!(reason = %m.0, "malformed OCSP nonce");
                    inc(&self.metrics.malformed);
                    return Outcome::Reply(error_reply(OcspResponseStatus::MalformedRequest));
                }
                nonce
            }
            _ => None,
        };
        let mut ca = None;
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            let found = self
                .cas
                .iter()
                .enumerate()
                .find_map(|(i, c)| c.matches(&id).map(|h| (i, h)));
            // An issuer we do not serve, or certificates of several CAs at once (one response
            // has one signer): not ours to answer (RFC 6960 §2.3).
            let Some((i, h)) = found.filter(|(i, _)| ca.is_none_or(|c| c == *i)) else {
                inc(&self.metrics.unauthorized);
                return Outcome::Reply(error_reply(OcspResponseStatus::Unauthorized));
            };
            ca = Some(i);
            let serial = requested_serial(&id);
            items.push((id, h, serial));
        }
        let ca = ca.unwrap_or_default();
        if echo.is_none() && items.len() == 1 {
            let (_, h, serial) = &items[0];
            let key = serial.as_ref().map_or(&[][..], |s| s.as_bytes());
            if let Some(e) = self.cache.get(ca, *h, key, now) {
                inc(&self.metrics.cache_hits);
                return Outcome::Reply(Reply::from_entry(e));
            }
        }
        if self.signing.fetch_add(1, Ordering::AcqRel) >= self.config.max_signing_queue {
            self.signing.fetch_sub(1, Ordering::AcqRel);
            inc(&self.metrics.try_later);
            return Outcome::Reply(error_reply(OcspResponseStatus::TryLater));
        }
        Outcome::Sign(Work {
            ca,
            items,
            nonce: echo,
        })
    }

    /// Signs what `work` needs (reading the store, signing in the HSM) and keeps the answer
    /// for the next asker when it can be reused. Blocks.
    pub fn answer_slow(&self, work: Work, now: NaiveDateTime) -> Reply {
        let result = self.sign_work(work, now);
        self.signing.fetch_sub(1, Ordering::AcqRel);
        match result {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "could not sign an OCSP response on demand");
                inc(&self.metrics.internal_errors);
                error_reply(OcspResponseStatus::InternalError)
            }
        }
    }

    fn record_for(
        &self,
        ca: &CaResponder,
        serial: &Option<Serial>,
    ) -> Result<Option<CertificateRecord>> {
        let Some(s) = serial else { return Ok(None) };
        Ok(self
            .store
            .certificate(s)?
            .filter(|r| r.pending.ca_name == ca.name))
    }

    fn sign_work(&self, work: Work, now: NaiveDateTime) -> Result<Reply> {
        let ca = &self.cas[work.ca];
        let key = ca.key();
        let next = now + self.config.validity();
        let mut singles = Vec::with_capacity(work.items.len());
        let mut records = Vec::with_capacity(work.items.len());
        for (id, _, serial) in &work.items {
            // The status in memory (the pre-signed answer, kept current by the change feed)
            // spares a database read; otherwise the store decides.
            let known = serial
                .as_ref()
                .and_then(|s| self.cache.presigned_status(work.ca, s.as_bytes(), now));
            let (cert_status, record) = match known {
                Some((status, stored)) => (status, Some(stored)),
                None => {
                    let record = self.record_for(ca, serial)?;
                    (
                        status_of(record.as_ref(), self.unknown())?,
                        record.map(|r| r.status),
                    )
                }
            };
            singles.push(SingleResponse {
                cert_id: id.clone(),
                cert_status,
                this_update: generalized(now)?,
                next_update: Some(generalized(next)?),
                single_extensions: None,
            });
            records.push(record);
        }
        let nonce = work.nonce.map(|n| Extensions::from(vec![n]));
        let echoed = nonce.is_some();
        let der = sign_response(
            &key.key,
            singles,
            now,
            nonce,
            key.certificate_der.as_deref(),
        )?;
        inc(&self.metrics.signed_on_demand);
        let body = Bytes::from(der);
        if echoed || work.items.len() != 1 {
            return Ok(Reply {
                body,
                caching: Caching::NoStore,
            });
        }
        let (_, h, serial) = &work.items[0];
        let serial_key = serial.as_ref().map_or(&[][..], |s| s.as_bytes());
        let signed_for = records
            .pop()
            .flatten()
            .filter(|s| matches!(s, CertStatus::Issued | CertStatus::Revoked));
        let entry = match (signed_for, serial) {
            (Some(status), Some(serial)) => {
                if *h == IdHash::Sha1 {
                    // Stored only while the certificate keeps this status; the change feed
                    // then brings the row (with its revision) back into memory.
                    let stored = self.store.put_ocsp_responses(&[OcspResponseRecord {
                        serial: serial.clone(),
                        ca_name: ca.name.clone(),
                        signed_for: status,
                        signer: key.label.clone(),
                        this_update: now,
                        next_update: next,
                        der: body.to_vec(),
                        revision: 0,
                        stale: false,
                    }])?;
                    if stored.first() != Some(&true) {
                        // The status changed while we signed: answer, but keep nothing.
                        return Ok(Reply {
                            body,
                            caching: Caching::NoStore,
                        });
                    }
                }
                let e = Arc::new(Entry::new(work.ca, body, now, next, next, 0));
                self.cache.put(*h, serial_key, e.clone());
                e
            }
            _ => {
                let until = (now + Duration::seconds(NEGATIVE_SECONDS)).min(next);
                let e = Arc::new(Entry::new(work.ca, body, now, next, until, 0));
                self.cache.put_negative(*h, serial_key, e.clone());
                e
            }
        };
        Ok(Reply::from_entry(entry))
    }

    /// Signs the pre-signed (SHA-1 CertID, no nonce) response for one certificate record.
    pub fn presign(
        ca: &CaResponder,
        key: &ResponderKey,
        record: &CertificateRecord,
        unknown: UnknownSerials,
        validity: Duration,
        now: NaiveDateTime,
    ) -> Result<OcspResponseRecord> {
        let next = now + validity;
        let single = SingleResponse {
            cert_id: ca.sha1_cert_id(&record.pending.serial)?,
            cert_status: status_of(Some(record), unknown)?,
            this_update: generalized(now)?,
            next_update: Some(generalized(next)?),
            single_extensions: None,
        };
        let der = sign_response(
            &key.key,
            vec![single],
            now,
            None,
            key.certificate_der.as_deref(),
        )?;
        Ok(OcspResponseRecord {
            serial: record.pending.serial.clone(),
            ca_name: ca.name.clone(),
            signed_for: record.status,
            signer: key.label.clone(),
            this_update: now,
            next_update: next,
            der,
            revision: 0,
            stale: false,
        })
    }

    /// Signs and stores responses for every certificate whose response is missing, stale,
    /// past half-life or signed by another key, then brings them into memory. Returns how
    /// many were stored.
    pub fn refresh(&self, now: NaiveDateTime) -> Result<usize> {
        let half = self.config.validity() / 2;
        let mut stored_total = 0;
        for ca in &self.cas {
            let key = ca.key();
            let mut after = None;
            loop {
                let due = self.store.ocsp_due(
                    &ca.name,
                    &key.label,
                    now - half,
                    now,
                    after.as_ref(),
                    REFRESH_BATCH,
                )?;
                let Some(last) = due.last() else {
                    break;
                };
                after = Some(last.pending.serial.clone());
                let signed =
                    sign_parallel(ca, &key, &due, self.unknown(), self.config.validity(), now)?;
                let stored = self.store.put_ocsp_responses(&signed)?;
                let n = stored.iter().filter(|s| **s).count();
                self.metrics
                    .presigned
                    .fetch_add(n as u64, Ordering::Relaxed);
                stored_total += n;
                self.follow()?;
            }
        }
        self.cache.sweep(now);
        Ok(stored_total)
    }

    /// Applies the store's change feed to memory: new and re-signed responses replace what
    /// is held, stale ones (revoked since) are dropped so the next request signs afresh.
    /// Returns how many rows were applied.
    pub fn follow(&self) -> Result<usize> {
        let _one = self.follow_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut applied = 0;
        loop {
            let after = self.watermark.load(Ordering::Acquire);
            let rows = self.store.ocsp_changes(after, FOLLOW_BATCH)?;
            let Some(last) = rows.last().map(|r| r.revision) else {
                break;
            };
            for r in rows {
                let Some(&ca) = self.by_name.get(&r.ca_name) else {
                    continue;
                };
                let serial = r.serial.as_bytes().to_vec();
                if r.stale {
                    self.cache.forget(&serial);
                } else {
                    self.cache.forget_derived(&serial);
                    let entry = Entry::new(
                        ca,
                        Bytes::from(r.der),
                        r.this_update,
                        r.next_update,
                        r.next_update,
                        r.revision,
                    );
                    self.cache.put(IdHash::Sha1, &serial, Arc::new(entry));
                }
                applied += 1;
            }
            self.watermark.store(last, Ordering::Release);
        }
        self.metrics
            .changes_applied
            .fetch_add(applied as u64, Ordering::Relaxed);
        Ok(applied)
    }

    /// Re-reads the CA's newest delegated responder from the store (another node may have
    /// renewed it) and switches to it; `load` turns the record into a key.
    pub fn adopt_key(&self, ca: usize, key: ResponderKey) {
        let c = &self.cas[ca];
        if key.generation > c.key().generation || key.label != c.key().label {
            tracing::info!(ca = %c.name, generation = key.generation, "OCSP responses now signed by {}", key.label);
            c.set_key(key);
        }
    }
}

/// Signs `due` on two threads (SoftHSM and most HSMs sign in parallel).
fn sign_parallel(
    ca: &CaResponder,
    key: &ResponderKey,
    due: &[CertificateRecord],
    unknown: UnknownSerials,
    validity: Duration,
    now: NaiveDateTime,
) -> Result<Vec<OcspResponseRecord>> {
    let half = due.len().div_ceil(2);
    let (a, b) = due.split_at(half);
    let sign = |part: &[CertificateRecord]| -> Result<Vec<OcspResponseRecord>> {
        part.iter()
            .map(|r| Responder::presign(ca, key, r, unknown, validity, now))
            .collect()
    };
    let (ra, rb) = std::thread::scope(|s| {
        let h = s.spawn(|| sign(b));
        let ra = sign(a);
        let rb = h
            .join()
            .unwrap_or_else(|_| Err(Error::Setup("a signing thread panicked".into())));
        (ra, rb)
    });
    let mut out = ra?;
    out.extend(rb?);
    Ok(out)
}
