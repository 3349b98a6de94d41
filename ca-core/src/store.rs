//! Store traits that `ca-core` owns and `ca-store` implements (consumer-owned interfaces).
//!
//! Nothing here knows about SQL. Every method is a single atomic step: an implementation
//! either applies all of it or none of it, and reports a [`StoreError`] that says which.
//! Timestamps are UTC `NaiveDateTime`s truncated to whole seconds.

use chrono::NaiveDateTime;

use crate::serial::Serial;

/// A failure reported by a store implementation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness constraint refused the write (duplicate serial, CA name, key label …).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The record that the operation needs does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The record exists but is in a state that does not allow this transition.
    #[error("invalid state: {0}")]
    InvalidState(String),
    /// The database could not be reached or failed (connection, I/O, migration, driver error).
    #[error("database error: {0}")]
    Backend(String),
}

/// Result alias for store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Lifecycle of a certificate record (invariant 2 of the architecture).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertStatus {
    /// Serial and TBS recorded; the HSM may or may not have signed. Never answered "good".
    Pending,
    /// Signed, verified and stored.
    Issued,
    /// Revoked (from `Pending` or `Issued`).
    Revoked,
}

impl CertStatus {
    /// The lowercase name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            CertStatus::Pending => "pending",
            CertStatus::Issued => "issued",
            CertStatus::Revoked => "revoked",
        }
    }

    /// Parses the stored or user-given name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(CertStatus::Pending),
            "issued" => Some(CertStatus::Issued),
            "revoked" => Some(CertStatus::Revoked),
            _ => None,
        }
    }
}

/// A key that lives in the HSM, as the store remembers it (never key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key's `CKA_LABEL`, unique per token.
    pub label: String,
    /// Label of the token (partition) holding it.
    pub token_label: String,
    /// The key's `CKA_ID`.
    pub key_id: Vec<u8>,
    /// Algorithm name as `hsm_backend::KeySpec` prints it (`ec-p256`, `rsa-3072`, …).
    pub algorithm: String,
    /// DER SubjectPublicKeyInfo.
    pub public_key_der: Vec<u8>,
    /// When the key was generated.
    pub created_at: NaiveDateTime,
}

/// A certificate authority known to this installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaRecord {
    /// Short unique name (`root`, `issuing`).
    pub name: String,
    /// Name of the issuing CA; `None` for a self-signed root.
    pub parent: Option<String>,
    /// Label of the signing key (a [`KeyRecord`]).
    pub key_label: String,
    /// Signature scheme this CA signs with (`hsm_backend::SignatureScheme` name).
    pub signature: String,
    /// DER of the CA certificate.
    pub certificate_der: Vec<u8>,
    /// Subject as an RFC 4514 string.
    pub subject: String,
    /// Serial of the CA certificate.
    pub serial: Serial,
    /// Start of validity.
    pub not_before: NaiveDateTime,
    /// End of validity.
    pub not_after: NaiveDateTime,
    /// When the CA was created.
    pub created_at: NaiveDateTime,
    /// URLs this CA writes into the certificates it issues.
    pub publication: Publication,
}

/// URLs a CA writes into the certificates it issues (CRL distribution point, OCSP,
/// caIssuers), as set by the ceremony file's `[<ca>.urls]` section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publication {
    /// cRLDistributionPoints URL; `{shard}` is replaced by the certificate's CRL shard.
    #[serde(default)]
    pub crl: Option<String>,
    /// Number of CRL shards, 1 to 1024 (default 1). More than 1 needs `{shard}` in `crl`.
    #[serde(default = "one_shard")]
    pub crl_shards: u16,
    /// Delta CRL URL (freshestCRL in certificates whose profile asks for it); `{shard}` as
    /// in `crl`. Delta CRLs are published only for CAs that have one.
    #[serde(default)]
    pub delta_crl: Option<String>,
    /// OCSP responder URLs (AIA id-ad-ocsp).
    #[serde(default)]
    pub ocsp: Vec<String>,
    /// URLs of this CA's certificate (AIA id-ad-caIssuers).
    #[serde(default)]
    pub ca_issuers: Vec<String>,
}

fn one_shard() -> u16 {
    1
}

impl Default for Publication {
    fn default() -> Self {
        Publication {
            crl: None,
            delta_crl: None,
            crl_shards: one_shard(),
            ocsp: Vec::new(),
            ca_issuers: Vec::new(),
        }
    }
}

impl Publication {
    /// The CRL URL for `shard`, if the CA publishes CRLs.
    pub fn crl_url(&self, shard: i32) -> Option<String> {
        self.crl
            .as_ref()
            .map(|t| t.replace("{shard}", &shard.to_string()))
    }

    /// The delta CRL URL for `shard`, if the CA publishes delta CRLs.
    pub fn delta_crl_url(&self, shard: i32) -> Option<String> {
        self.delta_crl
            .as_ref()
            .map(|t| t.replace("{shard}", &shard.to_string()))
    }
}

/// What is stored before the HSM signs: serial, to-be-signed bytes and their hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCertificate {
    /// The certificate serial (unique across the store).
    pub serial: Serial,
    /// Name of the issuing CA.
    pub ca_name: String,
    /// Profile the certificate was issued under.
    pub profile: String,
    /// Subject as an RFC 4514 string.
    pub subject: String,
    /// Subject alternative names, each as `TYPE:value` (`dns:example.com`, `ip:192.0.2.1`).
    pub sans: Vec<String>,
    /// Start of validity.
    pub not_before: NaiveDateTime,
    /// End of validity.
    pub not_after: NaiveDateTime,
    /// DER of the TBSCertificate.
    pub tbs_der: Vec<u8>,
    /// SHA-256 of `tbs_der`.
    pub tbs_sha256: Vec<u8>,
    /// CRL shard the certificate is assigned to (fixed at issuance).
    pub crl_shard: i32,
    /// When the record was created.
    pub created_at: NaiveDateTime,
}

/// A signed certificate to store, as [`CertificateStore::store_signed_all`] takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRecord {
    /// Serial of the pending record.
    pub serial: Serial,
    /// DER of the signed certificate.
    pub der: Vec<u8>,
    /// When it was signed.
    pub at: NaiveDateTime,
    /// The audit event to append with it.
    pub audit: AuditEvent,
}

/// A revocation as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Serial of the revoked certificate.
    pub serial: Serial,
    /// RFC 5280 CRLReason code (0–10, not 7).
    pub reason: u8,
    /// When the revocation was committed.
    pub revoked_at: NaiveDateTime,
    /// The RFC 5280 invalidity date, when known.
    pub invalidity_date: Option<NaiveDateTime>,
}

/// A certificate record with everything the store knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    /// What was recorded before signing.
    pub pending: PendingCertificate,
    /// Current status.
    pub status: CertStatus,
    /// DER of the signed certificate, once stored.
    pub der: Option<Vec<u8>>,
    /// When the signed certificate was stored.
    pub issued_at: Option<NaiveDateTime>,
    /// The revocation, if any.
    pub revocation: Option<Revocation>,
}

/// Which certificates [`CertificateStore::list_certificates`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertFilter {
    /// Only this CA's certificates.
    pub ca_name: Option<String>,
    /// Only certificates in this status.
    pub status: Option<CertStatus>,
    /// Only certificates whose `not_after` is before this instant.
    pub not_after_before: Option<NaiveDateTime>,
    /// Only certificates whose `not_after` is at or after this instant (unexpired ones).
    pub not_after_from: Option<NaiveDateTime>,
    /// At most this many rows (ordered by `created_at`, then serial); `None` for all.
    pub limit: Option<u32>,
}

/// Keys and CAs.
pub trait CaStore: Send + Sync {
    /// Records a newly generated key. `Conflict` if the label is taken.
    fn insert_key(&self, key: &KeyRecord) -> StoreResult<()>;
    /// The key with this label.
    fn key(&self, label: &str) -> StoreResult<Option<KeyRecord>>;
    /// All keys, ordered by label.
    fn list_keys(&self) -> StoreResult<Vec<KeyRecord>>;
    /// Records a CA. `Conflict` if the name is taken.
    fn insert_ca(&self, ca: &CaRecord) -> StoreResult<()>;
    /// The CA with this name.
    fn ca(&self, name: &str) -> StoreResult<Option<CaRecord>>;
    /// All CAs, ordered by creation time then name.
    fn list_cas(&self) -> StoreResult<Vec<CaRecord>>;
}

/// Certificate records and revocations.
pub trait CertificateStore: Send + Sync {
    /// Records serial + TBS with status `pending`. `Conflict` if the serial exists.
    fn insert_pending(&self, cert: &PendingCertificate) -> StoreResult<()>;
    /// [`CertificateStore::insert_pending`] for several records, one result each, in
    /// order. Each record is inserted or refused on its own; an implementation may
    /// commit them together (the default inserts them one by one).
    fn insert_pending_all(&self, certs: &[PendingCertificate]) -> Vec<StoreResult<()>> {
        certs.iter().map(|c| self.insert_pending(c)).collect()
    }
    /// Stores the signed DER and appends `audit` to the audit log, in one transaction. A
    /// `pending` record becomes `issued`; a record revoked while pending keeps `revoked` and
    /// gains the DER. `NotFound` for an unknown serial, `InvalidState` if DER is already stored.
    fn store_signed(
        &self,
        serial: &Serial,
        der: &[u8],
        at: NaiveDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<AuditEntry>;
    /// [`CertificateStore::store_signed`] for several certificates, one result each, in
    /// order. Each is stored (with its audit entry) or refused on its own; an
    /// implementation may commit them together (the default stores them one by one).
    fn store_signed_all(&self, signed: &[SignedRecord]) -> Vec<StoreResult<AuditEntry>> {
        signed
            .iter()
            .map(|s| self.store_signed(&s.serial, &s.der, s.at, &s.audit))
            .collect()
    }
    /// The record for this serial.
    fn certificate(&self, serial: &Serial) -> StoreResult<Option<CertificateRecord>>;
    /// Those of `serials` recorded as revoked. Issuance asks right after storing signed
    /// certificates, to tell its caller that one was revoked while it was pending (the
    /// default reads the records one by one).
    fn revoked_among(&self, serials: &[Serial]) -> StoreResult<Vec<Serial>> {
        let mut revoked = Vec::new();
        for serial in serials {
            if self
                .certificate(serial)?
                .is_some_and(|r| r.status == CertStatus::Revoked)
            {
                revoked.push(serial.clone());
            }
        }
        Ok(revoked)
    }
    /// Records matching the filter.
    fn list_certificates(&self, filter: &CertFilter) -> StoreResult<Vec<CertificateRecord>>;
    /// Marks the certificate revoked, records the revocation and appends `audit` to the audit
    /// log, in one transaction. Allowed from `pending` and `issued`; `InvalidState` if already
    /// revoked, `NotFound` if unknown. The serial's stored OCSP response, if any, is marked
    /// stale in the same transaction (see [`OcspStore`]).
    fn revoke(&self, revocation: &Revocation, audit: &AuditEvent) -> StoreResult<AuditEntry>;
    /// Returns the next CRL number for (CA, shard): strictly greater than every number
    /// returned before for that pair, by any process sharing the database.
    fn next_crl_number(&self, ca_name: &str, shard: i32) -> StoreResult<i64>;
}

/// One event for the tamper-evident audit log (invariant 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When it happened.
    pub at: NaiveDateTime,
    /// Who did it (role and, where known, operator or service name).
    pub actor: String,
    /// What was done (`key.generate`, `cert.sign`, `ca.create`, …).
    pub action: String,
    /// What it was done to (key label, serial, CA name).
    pub target: String,
    /// Details as a JSON object text; never PINs or key material.
    pub details: String,
}

/// An audit event as chained into the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log, starting at 1, without gaps.
    pub seq: i64,
    /// The event.
    pub event: AuditEvent,
    /// Hash of the previous entry (32 zero bytes for the first).
    pub prev_hash: Vec<u8>,
    /// This entry's hash, see [`crate::audit::entry_hash`].
    pub hash: Vec<u8>,
}

/// The append-only audit log.
pub trait AuditStore: Send + Sync {
    /// Appends an event, chaining it to the last entry with [`crate::audit::chain`],
    /// atomically (concurrent appenders never fork the chain).
    fn append_audit(&self, event: &AuditEvent) -> StoreResult<AuditEntry>;
    /// Entries with `seq >= from`, in order, at most `limit`.
    fn audit_entries(&self, from: i64, limit: u32) -> StoreResult<Vec<AuditEntry>>;
}

/// A pre-signed OCSP response as stored (issue 4): the DER `OCSPResponse` for one serial,
/// with its CertID hashed with SHA-1 (RFC 5019 §2.1.1), as a responder serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspResponseRecord {
    /// Serial of the certificate the response is about.
    pub serial: Serial,
    /// Name of the CA that issued the certificate.
    pub ca_name: String,
    /// The certificate status the response was made from: `Issued` (answered good) or
    /// `Revoked`. A response is stored only while the certificate still has this status.
    pub signed_for: CertStatus,
    /// Label of the key that signed the response (the CA key or a delegated responder key).
    pub signer: String,
    /// The response's thisUpdate (also its producedAt).
    pub this_update: NaiveDateTime,
    /// The response's nextUpdate.
    pub next_update: NaiveDateTime,
    /// DER of the whole `OCSPResponse`.
    pub der: Vec<u8>,
    /// Set by the store, ignored on write: the position of the last change to this row in
    /// the change feed ([`OcspStore::ocsp_changes`]). Every write takes a new revision
    /// greater than all before it, and writes become visible in revision order.
    pub revision: i64,
    /// Set by the store, ignored on write: the certificate was revoked after this response
    /// was signed, so it must not be served (a new one has not been stored yet).
    pub stale: bool,
}

/// A delegated OCSP responder of a CA (RFC 6960 §4.2.2.2): a key in the HSM and the
/// `ocsp-signing` certificate the CA issued for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspSignerRecord {
    /// The CA the responder answers for.
    pub ca_name: String,
    /// 1 for the CA's first responder, one more for each renewal; unique per CA.
    pub generation: i64,
    /// Label of the responder key (a [`KeyRecord`]).
    pub key_label: String,
    /// Serial of the responder certificate (a [`CertificateRecord`]).
    pub serial: Serial,
    /// DER of the responder certificate.
    pub certificate_der: Vec<u8>,
    /// Start of the certificate's validity.
    pub not_before: NaiveDateTime,
    /// End of the certificate's validity.
    pub not_after: NaiveDateTime,
    /// When the responder was created.
    pub created_at: NaiveDateTime,
}

/// Pre-signed OCSP responses and delegated responders.
///
/// [`CertificateStore::revoke`] marks the serial's stored response stale in the revocation's
/// own transaction, so from the revocation's commit on no responder loads a `good` answer
/// for it from the store.
pub trait OcspStore: Send + Sync {
    /// Stores each response (insert or replace), unless at commit time its certificate's
    /// status is not `signed_for`, or the stored response for that serial has a later
    /// `this_update`. Returns, per response and in order, whether it was stored.
    fn put_ocsp_responses(&self, responses: &[OcspResponseRecord]) -> StoreResult<Vec<bool>>;
    /// The stored response for this serial (stale or not).
    fn ocsp_response(&self, serial: &Serial) -> StoreResult<Option<OcspResponseRecord>>;
    /// Stored responses with `revision > after`, in revision order, at most `limit`: the
    /// change feed that responders follow (and read whole at start).
    fn ocsp_changes(&self, after: i64, limit: u32) -> StoreResult<Vec<OcspResponseRecord>>;
    /// Certificates of `ca_name` that need a newly signed response: issued or revoked,
    /// `not_after >= now`, and with no stored response, a stale one, one signed for another
    /// status, one signed by a key other than `signer`, or one with
    /// `this_update < signed_before`. Only serials after `after` (keyset paging: pass the
    /// last serial of the previous page), ordered by serial, at most `limit`.
    fn ocsp_due(
        &self,
        ca_name: &str,
        signer: &str,
        signed_before: NaiveDateTime,
        now: NaiveDateTime,
        after: Option<&Serial>,
        limit: u32,
    ) -> StoreResult<Vec<CertificateRecord>>;
    /// Records a delegated responder. `Conflict` if the CA already has one of this
    /// generation (another node renewed first).
    fn insert_ocsp_signer(&self, signer: &OcspSignerRecord) -> StoreResult<()>;
    /// The CA's delegated responder with the highest generation.
    fn ocsp_signer(&self, ca_name: &str) -> StoreResult<Option<OcspSignerRecord>>;
}

/// One revoked certificate as a CRL lists it (RFC 5280 §5.1.2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlEntry {
    /// Serial of the revoked certificate.
    pub serial: Serial,
    /// When it was revoked.
    pub revoked_at: NaiveDateTime,
    /// RFC 5280 CRLReason code.
    pub reason: u8,
    /// The invalidity date, when known.
    pub invalidity_date: Option<NaiveDateTime>,
}

/// Which revoked certificates [`CrlStore::crl_entries`] returns: those of one CA and CRL
/// shard, in serial order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlQuery {
    /// The issuing CA.
    pub ca_name: String,
    /// The CRL shard (`crl_shard` fixed at issuance).
    pub shard: i32,
    /// Only certificates with `not_after >= this` (an entry stays until it has appeared on
    /// one CRL issued after its certificate expired).
    pub not_after_from: NaiveDateTime,
    /// Only revocations with `revoked_at >= this` (delta CRLs); `None` for all.
    pub revoked_from: Option<NaiveDateTime>,
    /// Only serials greater than this one (keyset paging); `None` to start.
    pub after: Option<Serial>,
    /// At most this many.
    pub limit: u32,
}

/// A CRL as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlRecord {
    /// The issuing CA.
    pub ca_name: String,
    /// The shard.
    pub shard: i32,
    /// Its CRL number (from [`CertificateStore::next_crl_number`]).
    pub number: i64,
    /// For a delta CRL, the number of its base CRL; `None` for a full CRL.
    pub base_number: Option<i64>,
    /// thisUpdate.
    pub this_update: NaiveDateTime,
    /// nextUpdate.
    pub next_update: NaiveDateTime,
    /// How many entries it lists.
    pub entries: i64,
    /// SHA-256 of its DER.
    pub sha256: Vec<u8>,
}

/// Revoked certificates for CRLs, and the record of CRLs signed.
pub trait CrlStore: Send + Sync {
    /// Revoked certificates matching `q`, ordered by serial, at most `q.limit`. Reads only
    /// revoked certificates through an index on (CA, shard, status, serial); the caller
    /// pages with `q.after` to stream any number of them.
    fn crl_entries(&self, q: &CrlQuery) -> StoreResult<Vec<CrlEntry>>;
    /// Records a signed CRL and appends `audit` (`crl.sign`) to the audit log, in one
    /// transaction. `Conflict` if (CA, shard, number) is recorded already.
    fn record_crl(&self, crl: &CrlRecord, audit: &AuditEvent) -> StoreResult<AuditEntry>;
    /// The CA's latest CRL of this shard (highest number): full CRLs when `delta` is
    /// false, delta CRLs when true.
    fn latest_crl(&self, ca_name: &str, shard: i32, delta: bool) -> StoreResult<Option<CrlRecord>>;
    /// Recorded CRLs, newest first (by thisUpdate, then number), optionally of one CA, at
    /// most `limit`.
    fn list_crls(&self, ca_name: Option<&str>, limit: u32) -> StoreResult<Vec<CrlRecord>>;
    /// The latest `revoked_at` at or after `since` among the revocations of this CA and
    /// shard, if any. The publisher asks with the thisUpdate of its older last CRL (full or
    /// delta) of the shard, to decide whether to publish early; so a store need only look
    /// at the revocations since then, not at all of the shard's.
    fn last_revocation_since(
        &self,
        ca_name: &str,
        shard: i32,
        since: NaiveDateTime,
    ) -> StoreResult<Option<NaiveDateTime>>;
}
