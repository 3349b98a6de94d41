//! When CRLs are regenerated: every `interval_seconds` (full) and `delta_interval_seconds`
//! (delta), before they expire, and within `revocation_delay_seconds` of a revocation in the
//! shard. Several publishers may run at once (nodes sharing PostgreSQL): each publishes to
//! its own directory, and the store keeps their CRL numbers unique and increasing.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};

use ca_core::clock::Clock;
use ca_core::store::{CaRecord, CrlRecord};

use crate::error::Result;
use crate::layout::Kind;
use crate::publisher::Publisher;

/// A CRL that should be generated now.
#[derive(Debug, Clone)]
pub struct Due {
    /// The CA.
    pub ca: CaRecord,
    /// The shard.
    pub shard: i32,
    /// Full or delta.
    pub kind: Kind,
}

fn stale(last: &CrlRecord, interval: Duration, now: NaiveDateTime) -> bool {
    let age = now - last.this_update;
    age >= interval || last.next_update - now <= (last.next_update - last.this_update) / 4
}

/// What is due at `now`.
pub fn due(p: &Publisher, now: NaiveDateTime) -> Result<Vec<Due>> {
    let c = p.config();
    let interval = Duration::seconds(c.interval_seconds as i64);
    let delta_interval = Duration::seconds(c.delta_interval_seconds as i64);
    let delay = Duration::seconds(c.revocation_delay_seconds as i64);
    let store = p.store();
    let mut out = Vec::new();
    for ca in store.list_cas()? {
        for shard in Publisher::shards(&ca) {
            let full = store.latest_crl(&ca.name, shard, false)?;
            let delta = match ca.publication.delta_crl {
                Some(_) => store.latest_crl(&ca.name, shard, true)?,
                None => None,
            };
            // Only revocations since the older of the two CRLs can make either due.
            let since = [&full, &delta]
                .into_iter()
                .flatten()
                .map(|c| c.this_update)
                .min();
            let last_revocation = match since {
                Some(since) => store.last_revocation_since(&ca.name, shard, since)?,
                None => None,
            };
            let revoked_since =
                |t: NaiveDateTime| last_revocation.is_some_and(|r| r >= t && now >= r + delay);
            let full_due = match &full {
                None => true,
                Some(f) => stale(f, interval, now) || revoked_since(f.this_update),
            };
            if full_due {
                out.push(Due {
                    ca: ca.clone(),
                    shard,
                    kind: Kind::Full,
                });
            }
            if ca.publication.delta_crl.is_none() {
                continue;
            }
            let delta_due = full_due
                || match &delta {
                    None => true,
                    Some(d) => stale(d, delta_interval, now) || revoked_since(d.this_update),
                };
            if delta_due {
                out.push(Due {
                    ca: ca.clone(),
                    shard,
                    kind: Kind::Delta,
                });
            }
        }
    }
    Ok(out)
}

/// Generates everything due; returns how many CRLs were published. One failure does not
/// stop the others; the first error is returned after trying them all.
pub fn run_once(p: &Publisher, now: NaiveDateTime) -> Result<usize> {
    let mut published = 0;
    let mut first_error = None;
    for d in due(p, now)? {
        match p.generate(&d.ca, d.shard, d.kind, now) {
            Ok(_) => published += 1,
            Err(e) => {
                tracing::warn!(ca = %d.ca.name, shard = d.shard, error = %e, "CRL generation failed");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if published == 0 => Err(e),
        _ => Ok(published),
    }
}

/// Runs the schedule on a background thread until the process ends, checking every
/// `tick` (half the revocation delay, between 1 and 10 seconds).
pub fn spawn(p: Arc<Publisher>, clock: Arc<dyn Clock + Send + Sync>) -> std::io::Result<()> {
    let tick = StdDuration::from_secs((p.config().revocation_delay_seconds / 2).clamp(1, 10));
    std::thread::Builder::new()
        .name("crl-publisher".into())
        .spawn(move || loop {
            if let Err(e) = run_once(&p, clock.now()) {
                tracing::warn!(error = %e, "CRL publishing failed; will retry");
            }
            std::thread::sleep(tick);
        })
        .map(|_| ())
}
