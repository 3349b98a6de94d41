//! The audit hash chain (architecture invariant 5).
//!
//! `hash(n) = SHA-256( "hsmca-audit-v1" || prev_hash || u64be(seq) || field(at) ||
//! field(actor) || field(action) || field(target) || field(details) )`, where
//! `field(x) = u32be(len(x)) || x` and `at` is `YYYY-MM-DDTHH:MM:SS` in UTC. Length
//! prefixes make the encoding injective, so no two different entries share a preimage.

use sha2::{Digest, Sha256};

use crate::store::{AuditEntry, AuditEvent};

/// Hash that the first entry chains to.
pub const GENESIS_HASH: [u8; 32] = [0u8; 32];

/// The hash of an entry with this position, event and predecessor hash.
pub fn entry_hash(seq: i64, event: &AuditEvent, prev_hash: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"hsmca-audit-v1");
    h.update(prev_hash);
    h.update((seq as u64).to_be_bytes());
    let at = event.at.format("%Y-%m-%dT%H:%M:%S").to_string();
    for field in [
        at.as_bytes(),
        event.actor.as_bytes(),
        event.action.as_bytes(),
        event.target.as_bytes(),
        event.details.as_bytes(),
    ] {
        h.update((field.len() as u32).to_be_bytes());
        h.update(field);
    }
    h.finalize().to_vec()
}

/// The entry that follows `last` (or starts the log when `last` is `None`).
pub fn chain(last: Option<&AuditEntry>, event: &AuditEvent) -> AuditEntry {
    let (seq, prev_hash) = match last {
        Some(e) => (e.seq + 1, e.hash.clone()),
        None => (1, GENESIS_HASH.to_vec()),
    };
    let hash = entry_hash(seq, event, &prev_hash);
    AuditEntry {
        seq,
        event: event.clone(),
        prev_hash,
        hash,
    }
}

/// Where a chain check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// Sequence number of the first entry that does not fit.
    pub seq: i64,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Checks that `entries` (in order, starting at `seq` 1) form an unbroken chain.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<(), ChainBreak> {
    let mut prev: Option<&AuditEntry> = None;
    for e in entries {
        let expected_seq = prev.map_or(1, |p| p.seq + 1);
        if e.seq != expected_seq {
            return Err(ChainBreak {
                seq: e.seq,
                reason: "sequence gap or reorder",
            });
        }
        let expected_prev = prev.map_or(GENESIS_HASH.to_vec(), |p| p.hash.clone());
        if e.prev_hash != expected_prev {
            return Err(ChainBreak {
                seq: e.seq,
                reason: "previous-hash link broken",
            });
        }
        if e.hash != entry_hash(e.seq, &e.event, &e.prev_hash) {
            return Err(ChainBreak {
                seq: e.seq,
                reason: "entry content does not match its hash",
            });
        }
        prev = Some(e);
    }
    Ok(())
}
