//! Record-before-sign under a store failure in the issuing pipeline
//! (`Issuance::issue_csrs`): the store fails after the HSM signed each certificate. Every
//! request was recorded before it was signed, stays `pending` (never good), and
//! `hsmca reconcile` completes them all.

use ca_core::clock::{Clock, SystemClock};
use ca_core::issue::Overrides;
use ca_core::store::{CertFilter, CertificateStore};
use hsmca_tests::fault::FaultyIssuing;

#[test]
fn a_store_failure_in_the_pipeline_leaves_every_signed_request_pending_for_reconcile() {
    let f = FaultyIssuing::new();
    let (store, issuance) = (&f.store, f.issuance());
    let csr = f.csr("many");
    // More than the first chunk and a whole one after it.
    let n = ca_core::issue::pipeline::GROUP + ca_core::issue::pipeline::CHUNK + 6;
    let csrs = vec![csr.as_slice(); n];
    let results = issuance.issue_csrs(&csrs, &Overrides::default(), SystemClock.now(), 2);
    assert_eq!(results.len(), n);
    for r in &results {
        let err = r.as_ref().unwrap_err();
        assert!(err.to_string().contains("injected failure"), "{err}");
    }
    // Every one was recorded before it was signed, and stays pending: none is issued.
    let pending = f.pending();
    assert_eq!(pending.len(), n);
    let issued = store
        .list_certificates(&CertFilter {
            ca_name: Some("issuing".into()),
            status: Some(ca_core::store::CertStatus::Issued),
            ..CertFilter::default()
        })
        .unwrap();
    assert!(issued.is_empty());
    // reconcile completes them all, from the recorded TBS.
    f.reconcile_completes(n);
}
