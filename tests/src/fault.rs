//! A store that goes wrong where a test needs it to: the real store with one fault
//! injected (a failure after signing, or a revocation racing the signature).

use ca_core::serial::Serial;
use ca_core::store::{
    AuditEntry, AuditEvent, CertFilter, CertificateRecord, CertificateStore, PendingCertificate,
    Revocation, StoreError, StoreResult,
};
use chrono::NaiveDateTime;

/// What goes wrong in [`Faulty`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `store_signed` returns an error (a lost connection): the fault happens between the
    /// HSM signature and the final write.
    Error,
    /// `store_signed` panics (a bug in the store), at the same point.
    Panic,
    /// Every pending record is revoked (keyCompromise) as soon as it is committed: an
    /// operator's `hsmca revoke` landing while the HSM signs. Nothing fails.
    RevokeWhilePending,
}

/// The real store with `Fault` injected; every other operation is the real store's.
pub struct Faulty(pub ca_store::Store, pub Fault);

impl CertificateStore for Faulty {
    fn insert_pending(&self, c: &PendingCertificate) -> StoreResult<()> {
        self.0.insert_pending(c)?;
        if self.1 != Fault::RevokeWhilePending {
            return Ok(());
        }
        let revocation = Revocation {
            serial: c.serial.clone(),
            reason: 1,
            revoked_at: c.created_at,
            invalidity_date: None,
        };
        let event = AuditEvent {
            at: c.created_at,
            actor: "test".into(),
            action: "cert.revoke".into(),
            target: c.serial.to_hex(),
            details: "{}".into(),
        };
        self.0.revoke(&revocation, &event).map(|_| ())
    }
    fn store_signed(
        &self,
        s: &Serial,
        der: &[u8],
        at: NaiveDateTime,
        e: &AuditEvent,
    ) -> StoreResult<AuditEntry> {
        match self.1 {
            Fault::Panic => panic!("injected failure: the store panicked"),
            Fault::Error => Err(StoreError::Backend(
                "injected failure: connection lost".into(),
            )),
            Fault::RevokeWhilePending => self.0.store_signed(s, der, at, e),
        }
    }
    fn certificate(&self, s: &Serial) -> StoreResult<Option<CertificateRecord>> {
        self.0.certificate(s)
    }
    fn revoked_among(&self, serials: &[Serial]) -> StoreResult<Vec<Serial>> {
        self.0.revoked_among(serials)
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

/// An initialised data directory and its issuing CA, issuing `tls-server` certificates
/// into the real store through [`Faulty`]: what the fault tests issue with.
pub struct FaultyIssuing {
    /// The data directory (for running `hsmca` on it).
    pub h: crate::cli::Hsmca,
    /// The real store under the fault.
    pub store: ca_store::Store,
    ca: ca_core::store::CaRecord,
    issuer: ca_core::issuer::Issuer,
    faulty: Faulty,
    profiles: profiles::ProfileSet,
    blocklist: ca_core::keycheck::Blocklist,
    _token: std::sync::Arc<hsm_backend::Token>,
}

impl FaultyIssuing {
    /// Initialises a data directory ([`crate::pki::initialised`]) and opens its issuing CA,
    /// whose certificates fail to be stored with an error.
    pub fn new() -> Self {
        Self::with(Fault::Error)
    }

    /// As [`FaultyIssuing::new`], failing as `fault` says.
    pub fn with(fault: Fault) -> Self {
        let h = crate::pki::initialised();
        let data = h.data_dir();
        let token = crate::inproc::open_token(&data);
        let store = ca_store::Store::open(data.join("hsmca.db").to_str().unwrap(), 2).unwrap();
        let ca = ca_core::store::CaStore::ca(&store, "issuing")
            .unwrap()
            .unwrap();
        let issuer = crate::inproc::issuer(&token, &ca);
        FaultyIssuing {
            faulty: Faulty(store.clone(), fault),
            h,
            store,
            ca,
            issuer,
            profiles: profiles::ProfileSet::builtin().unwrap(),
            blocklist: ca_core::keycheck::Blocklist::empty(),
            _token: token,
        }
    }

    /// A P-256 `tls-server` request for `NAME.example.com`, made with OpenSSL.
    pub fn csr(&self, name: &str) -> Vec<u8> {
        let dns = format!("{name}.example.com");
        std::fs::read(crate::pki::csr(
            &self.h.path(""),
            name,
            "p256",
            &format!("/CN={dns}"),
            &[&format!("subjectAltName=DNS:{dns}")],
        ))
        .unwrap()
    }

    /// Runs `hsmca reconcile --older-than 0` and asserts that it completed `expected`
    /// pending records and left none.
    pub fn reconcile_completes(&self, expected: usize) {
        let done = self
            .h
            .run(&["reconcile", "--older-than", "0", "--json"])
            .json();
        let outcomes = done.as_array().unwrap();
        assert_eq!(outcomes.len(), expected, "{done}");
        assert!(
            outcomes.iter().all(|o| o["outcome"] == "completed"),
            "{done}"
        );
        assert!(self.pending().is_empty());
    }

    /// The records left `pending`.
    pub fn pending(&self) -> Vec<ca_core::store::CertificateRecord> {
        self.store
            .list_certificates(&CertFilter {
                status: Some(ca_core::store::CertStatus::Pending),
                ..CertFilter::default()
            })
            .unwrap()
    }

    /// Issuance under `tls-server` through the fault (with [`Fault::Error`] and
    /// [`Fault::Panic`], its certificates are never stored).
    pub fn issuance(&self) -> ca_core::issue::Issuance<'_> {
        self.issuance_into(&self.faulty)
    }

    /// Issuance under `tls-server` into `certs` (such as [`Self::store`], without the fault).
    pub fn issuance_into<'a>(
        &'a self,
        certs: &'a dyn CertificateStore,
    ) -> ca_core::issue::Issuance<'a> {
        ca_core::issue::Issuance {
            issuer: &self.issuer,
            ca: &self.ca,
            profile: self.profiles.get("tls-server").unwrap(),
            blocklist: &self.blocklist,
            certs,
            actor: "test",
        }
    }
}

impl Default for FaultyIssuing {
    fn default() -> Self {
        Self::new()
    }
}
