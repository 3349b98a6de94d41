//! Row types and their conversions to and from the `ca_core::store` records.
//!
//! Timestamps are truncated to whole seconds on the way in, as the store contract says,
//! so both backends return exactly what they were given.

use ca_core::serial::Serial;
use ca_core::store::{
    AuditEntry, AuditEvent, CaRecord, CertStatus, CertificateRecord, CrlRecord, KeyRecord,
    OcspResponseRecord, OcspSignerRecord, PendingCertificate, Revocation, StoreError,
};
use chrono::{NaiveDateTime, SubsecRound};
use diesel::prelude::*;

use crate::error::corrupt;
use crate::schema::{
    audit_log, cas, certificates, crls, keys, ocsp_responses, ocsp_signers, revocations,
};

/// `t` without its fractional second.
pub(crate) fn secs(t: NaiveDateTime) -> NaiveDateTime {
    t.trunc_subsecs(0)
}

fn parse_serial(text: &str) -> Result<Serial, StoreError> {
    Serial::parse(text).map_err(|e| corrupt("serial", e))
}

/// A row of `keys`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = keys)]
pub(crate) struct KeyRow {
    label: String,
    token_label: String,
    key_id: Vec<u8>,
    algorithm: String,
    public_key_der: Vec<u8>,
    created_at: NaiveDateTime,
}

impl From<&KeyRecord> for KeyRow {
    fn from(k: &KeyRecord) -> Self {
        KeyRow {
            label: k.label.clone(),
            token_label: k.token_label.clone(),
            key_id: k.key_id.clone(),
            algorithm: k.algorithm.clone(),
            public_key_der: k.public_key_der.clone(),
            created_at: secs(k.created_at),
        }
    }
}

impl From<KeyRow> for KeyRecord {
    fn from(r: KeyRow) -> Self {
        KeyRecord {
            label: r.label,
            token_label: r.token_label,
            key_id: r.key_id,
            algorithm: r.algorithm,
            public_key_der: r.public_key_der,
            created_at: r.created_at,
        }
    }
}

/// A row of `cas`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = cas)]
pub(crate) struct CaRow {
    name: String,
    parent: Option<String>,
    key_label: String,
    signature: String,
    certificate_der: Vec<u8>,
    subject: String,
    serial: String,
    not_before: NaiveDateTime,
    not_after: NaiveDateTime,
    created_at: NaiveDateTime,
    publication: String,
}

impl From<&CaRecord> for CaRow {
    fn from(c: &CaRecord) -> Self {
        CaRow {
            name: c.name.clone(),
            parent: c.parent.clone(),
            key_label: c.key_label.clone(),
            signature: c.signature.clone(),
            certificate_der: c.certificate_der.clone(),
            subject: c.subject.clone(),
            serial: c.serial.to_hex(),
            not_before: secs(c.not_before),
            not_after: secs(c.not_after),
            created_at: secs(c.created_at),
            // Serialising a struct of strings and integers cannot fail.
            publication: serde_json::to_string(&c.publication).unwrap_or_default(),
        }
    }
}

impl TryFrom<CaRow> for CaRecord {
    type Error = StoreError;

    fn try_from(r: CaRow) -> Result<Self, StoreError> {
        let publication = serde_json::from_str(&r.publication).map_err(|e| {
            StoreError::Backend(format!("stored publication URLs of CA {:?}: {e}", r.name))
        })?;
        Ok(CaRecord {
            serial: parse_serial(&r.serial)?,
            name: r.name,
            parent: r.parent,
            key_label: r.key_label,
            signature: r.signature,
            certificate_der: r.certificate_der,
            subject: r.subject,
            not_before: r.not_before,
            not_after: r.not_after,
            created_at: r.created_at,
            publication,
        })
    }
}

/// A row of `certificates`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = certificates)]
pub(crate) struct CertRow {
    serial: String,
    ca_name: String,
    status: String,
    profile: String,
    subject: String,
    sans: String,
    not_before: NaiveDateTime,
    not_after: NaiveDateTime,
    tbs_der: Vec<u8>,
    tbs_sha256: Vec<u8>,
    der: Option<Vec<u8>>,
    crl_shard: i32,
    created_at: NaiveDateTime,
    issued_at: Option<NaiveDateTime>,
}

/// The columns of `certificates` in the order [`CertRow::bind_sqlite`] binds them.
pub(crate) const CERT_COLUMNS: &str = "serial, ca_name, status, profile, subject, sans, \
     not_before, not_after, tbs_der, tbs_sha256, der, crl_shard, created_at, issued_at";

impl CertRow {
    /// Binds this row's values, in [`CERT_COLUMNS`] order, to the next 14 placeholders of
    /// a raw SQLite statement (a multi-row `INSERT`, [`crate::bulk`]).
    pub(crate) fn bind_sqlite<'f>(
        &'f self,
        q: diesel::query_builder::BoxedSqlQuery<
            'f,
            diesel::sqlite::Sqlite,
            diesel::query_builder::SqlQuery,
        >,
    ) -> diesel::query_builder::BoxedSqlQuery<
        'f,
        diesel::sqlite::Sqlite,
        diesel::query_builder::SqlQuery,
    > {
        use diesel::sql_types::{Binary, Integer, Nullable, Text, Timestamp};
        q.bind::<Text, _>(&self.serial)
            .bind::<Text, _>(&self.ca_name)
            .bind::<Text, _>(&self.status)
            .bind::<Text, _>(&self.profile)
            .bind::<Text, _>(&self.subject)
            .bind::<Text, _>(&self.sans)
            .bind::<Timestamp, _>(&self.not_before)
            .bind::<Timestamp, _>(&self.not_after)
            .bind::<Binary, _>(&self.tbs_der)
            .bind::<Binary, _>(&self.tbs_sha256)
            .bind::<Nullable<Binary>, _>(&self.der)
            .bind::<Integer, _>(&self.crl_shard)
            .bind::<Timestamp, _>(&self.created_at)
            .bind::<Nullable<Timestamp>, _>(&self.issued_at)
    }

    /// The row `insert_pending` writes: status `pending`, no DER yet.
    pub(crate) fn pending(c: &PendingCertificate) -> Result<Self, StoreError> {
        let sans = serde_json::to_string(&c.sans)
            .map_err(|e| StoreError::Backend(format!("encoding SANs as JSON: {e}")))?;
        Ok(CertRow {
            serial: c.serial.to_hex(),
            ca_name: c.ca_name.clone(),
            status: CertStatus::Pending.as_str().to_string(),
            profile: c.profile.clone(),
            subject: c.subject.clone(),
            sans,
            not_before: secs(c.not_before),
            not_after: secs(c.not_after),
            tbs_der: c.tbs_der.clone(),
            tbs_sha256: c.tbs_sha256.clone(),
            der: None,
            crl_shard: c.crl_shard,
            created_at: secs(c.created_at),
            issued_at: None,
        })
    }

    /// The record, joined with its revocation row if there is one.
    pub(crate) fn into_record(
        self,
        revocation: Option<RevocationRow>,
    ) -> Result<CertificateRecord, StoreError> {
        let status =
            CertStatus::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))?;
        let sans: Vec<String> =
            serde_json::from_str(&self.sans).map_err(|e| corrupt("SAN list", e))?;
        Ok(CertificateRecord {
            pending: PendingCertificate {
                serial: parse_serial(&self.serial)?,
                ca_name: self.ca_name,
                profile: self.profile,
                subject: self.subject,
                sans,
                not_before: self.not_before,
                not_after: self.not_after,
                tbs_der: self.tbs_der,
                tbs_sha256: self.tbs_sha256,
                crl_shard: self.crl_shard,
                created_at: self.created_at,
            },
            status,
            der: self.der,
            issued_at: self.issued_at,
            revocation: revocation.map(Revocation::try_from).transpose()?,
        })
    }
}

/// A row of `revocations`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = revocations)]
pub(crate) struct RevocationRow {
    serial: String,
    reason: i16,
    revoked_at: NaiveDateTime,
    invalidity_date: Option<NaiveDateTime>,
}

impl From<&Revocation> for RevocationRow {
    fn from(r: &Revocation) -> Self {
        RevocationRow {
            serial: r.serial.to_hex(),
            reason: i16::from(r.reason),
            revoked_at: secs(r.revoked_at),
            invalidity_date: r.invalidity_date.map(secs),
        }
    }
}

impl TryFrom<RevocationRow> for Revocation {
    type Error = StoreError;

    fn try_from(r: RevocationRow) -> Result<Self, StoreError> {
        Ok(Revocation {
            serial: parse_serial(&r.serial)?,
            reason: u8::try_from(r.reason).map_err(|_| corrupt("revocation reason", r.reason))?,
            revoked_at: r.revoked_at,
            invalidity_date: r.invalidity_date,
        })
    }
}

/// A row of `audit_log`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub(crate) struct AuditRow {
    seq: i64,
    at: NaiveDateTime,
    actor: String,
    action: String,
    target: String,
    details: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl From<&AuditEntry> for AuditRow {
    fn from(e: &AuditEntry) -> Self {
        AuditRow {
            seq: e.seq,
            at: e.event.at,
            actor: e.event.actor.clone(),
            action: e.event.action.clone(),
            target: e.event.target.clone(),
            details: e.event.details.clone(),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        }
    }
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            seq: r.seq,
            event: AuditEvent {
                at: r.at,
                actor: r.actor,
                action: r.action,
                target: r.target,
                details: r.details,
            },
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// A row of `ocsp_responses`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ocsp_responses)]
pub(crate) struct OcspResponseRow {
    pub(crate) serial: String,
    ca_name: String,
    pub(crate) signed_for: String,
    signer: String,
    pub(crate) this_update: NaiveDateTime,
    next_update: NaiveDateTime,
    der: Vec<u8>,
    pub(crate) revision: i64,
    /// 1 if stale, else 0.
    pub(crate) stale: i16,
}

impl OcspResponseRow {
    /// The row `put_ocsp_responses` writes for `r`, not yet stale and with revision 0 (the
    /// writer assigns the real one). `InvalidState` unless `signed_for` is `Issued` or
    /// `Revoked`: a pending certificate is never answered for.
    pub(crate) fn new(r: &OcspResponseRecord) -> Result<Self, StoreError> {
        if !matches!(r.signed_for, CertStatus::Issued | CertStatus::Revoked) {
            return Err(StoreError::InvalidState(format!(
                "OCSP response for certificate {} is signed for status {}; only issued or \
                 revoked certificates get stored responses",
                r.serial,
                r.signed_for.as_str()
            )));
        }
        Ok(OcspResponseRow {
            serial: r.serial.to_hex(),
            ca_name: r.ca_name.clone(),
            signed_for: r.signed_for.as_str().to_string(),
            signer: r.signer.clone(),
            this_update: secs(r.this_update),
            next_update: secs(r.next_update),
            der: r.der.clone(),
            revision: 0,
            stale: 0,
        })
    }
}

impl TryFrom<OcspResponseRow> for OcspResponseRecord {
    type Error = StoreError;

    fn try_from(r: OcspResponseRow) -> Result<Self, StoreError> {
        let signed_for = CertStatus::parse(&r.signed_for)
            .filter(|s| *s != CertStatus::Pending)
            .ok_or_else(|| corrupt("OCSP response status", &r.signed_for))?;
        Ok(OcspResponseRecord {
            serial: parse_serial(&r.serial)?,
            ca_name: r.ca_name,
            signed_for,
            signer: r.signer,
            this_update: r.this_update,
            next_update: r.next_update,
            der: r.der,
            revision: r.revision,
            stale: r.stale != 0,
        })
    }
}

/// A row of `ocsp_signers`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ocsp_signers)]
pub(crate) struct OcspSignerRow {
    ca_name: String,
    generation: i64,
    key_label: String,
    serial: String,
    certificate_der: Vec<u8>,
    not_before: NaiveDateTime,
    not_after: NaiveDateTime,
    created_at: NaiveDateTime,
}

impl From<&OcspSignerRecord> for OcspSignerRow {
    fn from(s: &OcspSignerRecord) -> Self {
        OcspSignerRow {
            ca_name: s.ca_name.clone(),
            generation: s.generation,
            key_label: s.key_label.clone(),
            serial: s.serial.to_hex(),
            certificate_der: s.certificate_der.clone(),
            not_before: secs(s.not_before),
            not_after: secs(s.not_after),
            created_at: secs(s.created_at),
        }
    }
}

impl TryFrom<OcspSignerRow> for OcspSignerRecord {
    type Error = StoreError;

    fn try_from(r: OcspSignerRow) -> Result<Self, StoreError> {
        Ok(OcspSignerRecord {
            serial: parse_serial(&r.serial)?,
            ca_name: r.ca_name,
            generation: r.generation,
            key_label: r.key_label,
            certificate_der: r.certificate_der,
            not_before: r.not_before,
            not_after: r.not_after,
            created_at: r.created_at,
        })
    }
}

/// A row of `crls`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = crls)]
pub(crate) struct CrlRow {
    ca_name: String,
    shard: i32,
    number: i64,
    base_number: Option<i64>,
    this_update: NaiveDateTime,
    next_update: NaiveDateTime,
    entries: i64,
    sha256: Vec<u8>,
}

impl From<&CrlRecord> for CrlRow {
    fn from(c: &CrlRecord) -> Self {
        CrlRow {
            ca_name: c.ca_name.clone(),
            shard: c.shard,
            number: c.number,
            base_number: c.base_number,
            this_update: secs(c.this_update),
            next_update: secs(c.next_update),
            entries: c.entries,
            sha256: c.sha256.clone(),
        }
    }
}

impl From<CrlRow> for CrlRecord {
    fn from(r: CrlRow) -> Self {
        CrlRecord {
            ca_name: r.ca_name,
            shard: r.shard,
            number: r.number,
            base_number: r.base_number,
            this_update: r.this_update,
            next_update: r.next_update,
            entries: r.entries,
            sha256: r.sha256,
        }
    }
}
