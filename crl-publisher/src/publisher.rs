//! Generating and publishing one CRL: allocate its number (the store keeps numbers strictly
//! increasing per CA and shard, across restarts and publishers), read the revoked
//! certificates of that CA and shard from the store page by page, stream-encode and sign the
//! CRL in the HSM, publish DER and PEM atomically, then record it with its audit entry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDateTime};
use hsm_backend::Token;

use ca_core::crl::{write_crl, CrlParams};
use ca_core::issuer::Issuer;
use ca_core::store::{AuditEvent, CaRecord, CrlEntry, CrlQuery, CrlRecord};

use crate::config::CrlConfig;
use crate::error::{Error, Result};
use crate::files::{commit, publish_pem, temp_beside};
use crate::layout::{der_path, pem_path, Kind};
use crate::PublisherStore;

/// Revoked certificates read from the store per query.
const PAGE: u32 = 50_000;

/// Entries in the first page read: the encoder waits for it, the later ones are read while
/// it works.
const FIRST_PAGE: u32 = 2_000;

/// Recorded in the audit log as the signer of CRLs.
const ACTOR: &str = "crypto-user:crl-publisher";

/// The number file beside a published CRL (`<file>.number`): the CRL number of what is
/// published there, kept so a publisher need not parse a large CRL to compare.
fn number_path(der: &Path) -> PathBuf {
    let mut p = der.as_os_str().to_owned();
    p.push(".number");
    PathBuf::from(p)
}

fn published_number(der: &Path) -> Option<i64> {
    std::fs::read_to_string(number_path(der))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn write_number(der: &Path, number: i64) -> Result<()> {
    let target = number_path(der);
    let tmp = temp_beside(&target)?;
    std::fs::write(tmp.path(), format!("{number}\n"))
        .map_err(|e| Error::io(format!("writing {}", tmp.path().display()), e))?;
    commit(tmp, &target)
}

/// An exclusive lock on the CA's publication directory, released when dropped.
fn lock_dir(der: &Path) -> Result<std::fs::File> {
    let dir = der.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let path = dir.join(".lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    f.lock()
        .map_err(|e| Error::io(format!("locking {}", path.display()), e))?;
    Ok(f)
}

/// What the reader thread hands over.
enum Page {
    /// The next entries, in order.
    Entries(Vec<CrlEntry>),
    /// No more entries.
    End,
    /// The store failed.
    Failed(ca_core::store::StoreError),
}

/// Reads the entries of `query` page by page on a thread, at most two pages ahead. The end
/// is said explicitly, so a reader that dies is an error, never a short CRL.
fn read_ahead(
    store: Arc<dyn PublisherStore>,
    mut query: CrlQuery,
) -> (std::sync::mpsc::Receiver<Page>, std::thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    // The first pages are small, so that encoding starts early; they double up to PAGE.
    query.limit = query.limit.min(FIRST_PAGE);
    let handle = std::thread::spawn(move || loop {
        match store.crl_entries(&query) {
            Ok(page) if page.is_empty() => {
                let _ = tx.send(Page::End);
                return;
            }
            Ok(page) => {
                let last = page.len() < query.limit as usize;
                query.after = page.last().map(|e| e.serial.clone());
                query.limit = query.limit.saturating_mul(2).min(PAGE);
                if tx.send(Page::Entries(page)).is_err() {
                    return;
                }
                if last {
                    let _ = tx.send(Page::End);
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Page::Failed(e));
                return;
            }
        }
    });
    (rx, handle)
}

/// A CRL that was published.
#[derive(Debug, Clone)]
pub struct Published {
    /// What the store recorded.
    pub record: CrlRecord,
    /// The DER file.
    pub der_path: PathBuf,
    /// The PEM file.
    pub pem_path: PathBuf,
}

/// Builds and publishes the CRLs of the CAs in the store.
pub struct Publisher {
    store: Arc<dyn PublisherStore>,
    token: Arc<Token>,
    dir: PathBuf,
    config: CrlConfig,
    issuers: Mutex<HashMap<String, Arc<Issuer>>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher writing under `dir`.
    pub fn new(
        store: Arc<dyn PublisherStore>,
        token: Arc<Token>,
        dir: PathBuf,
        config: CrlConfig,
    ) -> Result<Self> {
        config.validate().map_err(Error::Invalid)?;
        Ok(Publisher {
            store,
            token,
            dir,
            config,
            issuers: Mutex::new(HashMap::new()),
        })
    }

    /// The publication directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration.
    pub fn config(&self) -> &CrlConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn PublisherStore> {
        &self.store
    }

    fn issuer(&self, ca: &CaRecord) -> Result<Arc<Issuer>> {
        let mut cache = self.issuers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = cache.get(&ca.name) {
            return Ok(i.clone());
        }
        let issuer = Arc::new(Issuer::open(&self.token, ca)?);
        cache.insert(ca.name.clone(), issuer.clone());
        Ok(issuer)
    }

    /// The shards of `ca` (0 … crl_shards − 1).
    pub fn shards(ca: &CaRecord) -> std::ops::Range<i32> {
        0..i32::from(ca.publication.crl_shards.max(1))
    }

    fn validity(&self, ca: &CaRecord, kind: Kind) -> Duration {
        let hours = match kind {
            Kind::Delta => self.config.delta_validity_hours,
            Kind::Full if ca.parent.is_none() => self.config.root_validity_hours,
            Kind::Full => self.config.validity_hours,
        };
        Duration::hours(hours.into())
    }

    /// Generates, publishes and records one CRL of `ca`'s `shard`.
    ///
    /// A full CRL lists every revoked certificate of the shard whose certificate had not
    /// expired when the previous full CRL was issued (so an entry appears on one CRL after
    /// its certificate expires, then drops off). A delta CRL lists those revoked since its
    /// base — the latest full CRL of the shard — was issued, and names the base in its
    /// deltaCRLIndicator — at or after, in whole seconds, so a revocation in the very second
    /// the base was made may be on both (never on neither). For a CA with more than one
    /// shard both carry the shard's critical issuingDistributionPoint: the URL its
    /// certificates of that shard carry, byte for byte.
    pub fn generate(
        &self,
        ca: &CaRecord,
        shard: i32,
        kind: Kind,
        now: NaiveDateTime,
    ) -> Result<Published> {
        if !Self::shards(ca).contains(&shard) {
            return Err(Error::Invalid(format!(
                "CA {:?} has shards 0 to {}, not {shard}",
                ca.name,
                Self::shards(ca).end - 1
            )));
        }
        let previous = self.store.latest_crl(&ca.name, shard, false)?;
        let (base_number, revoked_from) = match kind {
            Kind::Full => (None, None),
            Kind::Delta => {
                if ca.publication.delta_crl.is_none() {
                    return Err(Error::Invalid(format!(
                        "CA {:?} publishes no delta CRLs (no delta_crl URL)",
                        ca.name
                    )));
                }
                let base = previous.as_ref().ok_or_else(|| {
                    Error::Invalid(format!(
                        "CA {:?} shard {shard} has no full CRL yet to be the base of a delta CRL",
                        ca.name
                    ))
                })?;
                (Some(base.number), Some(base.this_update))
            }
        };
        let not_after_from = previous.as_ref().map_or(now, |p| p.this_update.min(now));
        let issuer = self.issuer(ca)?;
        let number = self.store.next_crl_number(&ca.name, shard)?;
        let params = CrlParams {
            this_update: now,
            next_update: now + self.validity(ca, kind),
            number,
            base_number,
            // A sharded CA's CRLs each cover part of its certificates: a critical IDP names
            // the part by the URL its certificates carry. An unsharded CA's CRL is complete
            // and carries none (a scoped CRL would not cover the CA's own certificate).
            distribution_point: (ca.publication.crl_shards > 1)
                .then(|| ca.publication.crl_url(shard))
                .flatten(),
        };
        let target = der_path(&self.dir, &ca.name, shard, kind);
        let mut spool = tempfile::tempfile_in(self.dir.as_path())
            .or_else(|_| tempfile::tempfile())
            .map_err(|e| Error::io("CRL spool file", e))?;
        let out = temp_beside(&target)?;
        let query = CrlQuery {
            ca_name: ca.name.clone(),
            shard,
            not_after_from,
            revoked_from,
            after: None,
            limit: PAGE,
        };
        // The store is read on its own thread while this one encodes and hashes: the two
        // halves cost about the same, and there are two cores.
        let (pages, reader) = read_ahead(self.store.clone(), query);
        let signed = write_crl(
            &issuer,
            &params,
            || match pages.recv() {
                Ok(Page::Entries(p)) => Ok(p),
                Ok(Page::End) => Ok(Vec::new()),
                Ok(Page::Failed(e)) => Err(ca_core::Error::from(e)),
                Err(_) => Err(ca_core::Error::Encoding(
                    "the CRL entry reader stopped before the end".into(),
                )),
            },
            &mut spool,
            &mut out.as_file(),
        );
        drop(pages);
        let _ = reader.join();
        let signed = signed?;
        let pem = pem_path(&target);
        {
            // Publishers sharing this directory (several processes) must not replace a CRL
            // with an older one: under the directory's lock, only a higher number goes in.
            let _lock = lock_dir(&target)?;
            if let Some(dir) = target.parent() {
                let swept = crate::files::sweep_stale_temps(dir);
                if swept > 0 {
                    tracing::info!(ca = %ca.name, swept, "removed temporary files a stopped publisher left");
                }
            }
            let current = published_number(&target);
            if current.is_some_and(|c| c >= number) {
                tracing::info!(ca = %ca.name, shard, number, current, "a newer CRL is already published here; keeping it");
            } else {
                commit(out, &target)?;
                publish_pem(&target, &pem)?;
                write_number(&target, number)?;
            }
        }
        let record = CrlRecord {
            ca_name: ca.name.clone(),
            shard,
            number,
            base_number,
            this_update: params.this_update,
            next_update: params.next_update,
            entries: signed.entries as i64,
            sha256: signed.sha256.clone(),
        };
        self.store.record_crl(
            &record,
            &AuditEvent {
                at: now,
                actor: ACTOR.into(),
                action: "crl.sign".into(),
                target: format!("{}/{shard}#{number}", ca.name),
                details: serde_json::json!({
                    "ca": ca.name,
                    "shard": shard,
                    "number": number,
                    "base_number": base_number,
                    "entries": signed.entries,
                    "sha256": hex::encode(&signed.sha256),
                    "this_update": params.this_update.to_string(),
                    "next_update": params.next_update.to_string(),
                })
                .to_string(),
            },
        )?;
        tracing::info!(ca = %ca.name, shard, number, entries = signed.entries, delta = base_number.is_some(), "published CRL");
        Ok(Published {
            record,
            der_path: target,
            pem_path: pem,
        })
    }

    /// Generates the CRLs of `ca` (every shard), full or delta.
    pub fn generate_ca(
        &self,
        ca: &CaRecord,
        kind: Kind,
        now: NaiveDateTime,
    ) -> Result<Vec<Published>> {
        Self::shards(ca)
            .map(|shard| self.generate(ca, shard, kind, now))
            .collect()
    }
}
