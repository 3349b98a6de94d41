//! A serial revoked while it was pending (an operator's `hsmca revoke` landing while the HSM
//! signs): the signed certificate is stored, stays revoked, and issuance says so instead of
//! handing it out as a usable certificate. Its own test process: the in-process HSM
//! session belongs to one data directory.

use ca_core::clock::{Clock, SystemClock};
use ca_core::issue::Overrides;
use hsmca_tests::fault::{Fault, FaultyIssuing};

#[test]
fn a_serial_revoked_while_pending_is_stored_revoked_and_reported_as_such() {
    let f = FaultyIssuing::with(Fault::RevokeWhilePending);
    let issuance = f.issuance();
    let now = SystemClock.now();

    // One request at a time.
    let one = issuance
        .issue_csr(&f.csr("one"), &Overrides::default(), now)
        .unwrap();
    assert!(one.issued.revoked_while_pending);
    let show: serde_json::Value =
        f.h.run(&["cert", "show", &one.issued.serial.to_hex(), "--json"])
            .json();
    assert_eq!(show["status"], "revoked", "{show}");
    assert!(
        show["pem"].is_string(),
        "the signed certificate is kept: {show}"
    );

    // The pipeline: every one of them, in a commit of several.
    let csrs: Vec<Vec<u8>> = (0..20).map(|i| f.csr(&format!("many{i}"))).collect();
    let results = issuance.issue_csrs(&csrs, &Overrides::default(), now, 2);
    assert_eq!(results.len(), 20);
    for r in results {
        assert!(r.unwrap().issued.revoked_while_pending);
    }

    // Issued as usual, nobody racing: not revoked.
    let plain = f.issuance_into(&f.store);
    let ok = plain
        .issue_csr(&f.csr("plain"), &Overrides::default(), now)
        .unwrap();
    assert!(!ok.issued.revoked_while_pending);
    let batch = plain.issue_csrs(
        &[f.csr("plain2"), f.csr("plain3")],
        &Overrides::default(),
        now,
        2,
    );
    assert!(batch
        .into_iter()
        .all(|r| !r.unwrap().issued.revoked_while_pending));
}
