//! A store that panics after the HSM signed, in the issuing pipeline: the run still ends,
//! every request gets an error (none hangs, none is reported issued), every record stays
//! `pending`, and `hsmca reconcile` completes them all.

use ca_core::clock::{Clock, SystemClock};
use ca_core::issue::Overrides;
use hsmca_tests::fault::{Fault, FaultyIssuing};

#[test]
fn a_panicking_store_stage_fails_its_requests_without_hanging_the_pipeline() {
    let f = FaultyIssuing::with(Fault::Panic);
    let issuance = f.issuance();
    let csr = f.csr("many");
    // More than the channels between the stages hold, so that a stage that waited on a
    // stopped one would hang.
    let csrs = vec![csr.as_slice(); 300];
    let results = issuance.issue_csrs(&csrs, &Overrides::default(), SystemClock.now(), 1);
    assert_eq!(results.len(), 300);
    assert!(results.iter().all(Result::is_err), "nothing is issued");
    // Every request was recorded (the record stage does not wait for the store stage),
    // none was stored: all 300 are pending.
    assert_eq!(f.pending().len(), 300);
    f.reconcile_completes(300);
}
