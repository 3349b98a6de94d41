//! A store that fails where a test needs it to: the real store with one operation
//! replaced by an injected failure.

use ca_core::serial::Serial;
use ca_core::store::{
    AuditEntry, AuditEvent, CertFilter, CertificateRecord, CertificateStore, PendingCertificate,
    Revocation, StoreError, StoreResult,
};
use chrono::NaiveDateTime;

/// The real store, with `store_signed` failing: the fault happens between the HSM signature
/// and the final write.
pub struct FailAfterSign(pub ca_store::Store);

impl CertificateStore for FailAfterSign {
    fn insert_pending(&self, c: &PendingCertificate) -> StoreResult<()> {
        self.0.insert_pending(c)
    }
    fn store_signed(
        &self,
        _: &Serial,
        _: &[u8],
        _: NaiveDateTime,
        _: &AuditEvent,
    ) -> StoreResult<AuditEntry> {
        Err(StoreError::Backend(
            "injected failure: connection lost".into(),
        ))
    }
    fn certificate(&self, s: &Serial) -> StoreResult<Option<CertificateRecord>> {
        self.0.certificate(s)
    }
    fn list_certificates(&self, f: &CertFilter) -> StoreResult<Vec<CertificateRecord>> {
        self.0.list_certificates(f)
    }
    fn revoke(&self, r: &Revocation, e: &AuditEvent) -> StoreResult<AuditEntry> {
        self.0.revoke(r, e)
    }
    fn next_crl_number(&self, ca: &str, shard: i32) -> StoreResult<i64> {
        self.0.next_crl_number(ca, shard)
    }
}
