//! A store that panics after the HSM signed, in the issuing pipeline: the run still ends,
//! every request gets an error (none hangs, none is reported issued), every record stays
//! `pending`, and `hsmca reconcile` completes them all.

use ca_core::clock::{Clock, SystemClock};
use ca_core::issue::Overrides;
use hsmca_tests::fault::{Fault, FaultyIssuing};
use hsmca_tests::pki;

#[test]
fn a_panicking_store_stage_fails_its_requests_without_hanging_the_pipeline() {
    let f = FaultyIssuing::with(Fault::Panic);
    let (h, issuance) = (&f.h, f.issuance());
    let csr = std::fs::read(pki::csr(
        &h.path(""),
        "many",
        "p256",
        "/CN=many.example.com",
        &["subjectAltName=DNS:many.example.com"],
    ))
    .unwrap();
    // More than the channels between the stages hold, so that a stage that waited on a
    // stopped one would hang.
    let csrs = vec![csr.as_slice(); 300];
    let results = issuance.issue_csrs(&csrs, &Overrides::default(), SystemClock.now(), 1);
    assert_eq!(results.len(), 300);
    assert!(results.iter().all(Result::is_err), "nothing is issued");
    // Every request got past the record stage before the store stage stopped or was
    // refused by the signers afterwards: all 300 are pending.
    assert_eq!(f.pending().len(), 300);
    let done: serde_json::Value = h.run(&["reconcile", "--older-than", "0", "--json"]).json();
    let outcomes = done.as_array().unwrap();
    assert_eq!(outcomes.len(), 300);
    assert!(
        outcomes.iter().all(|o| o["outcome"] == "completed"),
        "{done}"
    );
    assert!(f.pending().is_empty());
}
