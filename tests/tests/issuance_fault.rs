//! Record-before-sign under a store failure: the store fails after the HSM signed, before
//! the certificate is written. The serial stays `pending` (never good), `hsmca revoke` can
//! revoke it, and `hsmca reconcile` completes or revokes such records.

use ca_core::clock::{Clock, SystemClock};
use ca_core::issue::Overrides;
use hsmca_tests::fault::FaultyIssuing;
use hsmca_tests::{openssl, pki};

#[test]
fn a_store_failure_after_signing_leaves_a_revocable_pending_record_that_reconcile_resolves() {
    let f = FaultyIssuing::new();
    let (h, issuance) = (&f.h, f.issuance());

    // Three requests fail after the HSM signed.
    let mut serials = Vec::new();
    for name in ["complete", "revoke", "cease"] {
        let csr = pki::csr(
            &h.path(""),
            name,
            "p256",
            &format!("/CN={name}.example.com"),
            &[&format!("subjectAltName=DNS:{name}.example.com")],
        );
        let err = issuance
            .issue_csr(
                &std::fs::read(csr).unwrap(),
                &Overrides::default(),
                SystemClock.now(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("injected failure"), "{err}");
        let pending = f.pending();
        let new: Vec<_> = pending
            .iter()
            .map(|r| r.pending.serial.to_hex())
            .filter(|s| !serials.contains(s))
            .collect();
        assert_eq!(
            new.len(),
            1,
            "exactly one pending record per failed issuance"
        );
        serials.push(new[0].clone());
    }
    let [complete, revoke, cease] = [&serials[0], &serials[1], &serials[2]];
    for s in &serials {
        let show: serde_json::Value = h.run(&["cert", "show", s, "--json"]).json();
        assert_eq!(show["status"], "pending");
        assert!(
            show["pem"].is_null(),
            "no certificate is stored for a pending record"
        );
    }

    // A pending serial is revocable.
    h.run(&["revoke", revoke, "--reason", "keyCompromise"]).ok();
    // Fresh records are left alone by default (in-flight issuance)...
    let fresh = h.run(&["reconcile", "--json"]).ok();
    assert_eq!(fresh.stdout.trim(), "[]", "{}", fresh.stdout);
    // ...older ones are completed: the recorded TBS is signed and stored.
    let done: serde_json::Value = h.run(&["reconcile", "--older-than", "0", "--json"]).json();
    let outcomes: Vec<_> = done
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["serial"].as_str().unwrap().to_string(),
                o["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        outcomes.len(),
        2,
        "the revoked one is no longer pending: {outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|(_, o)| o == "completed"),
        "{outcomes:?}"
    );
    let _ = cease;

    let show: serde_json::Value = h.run(&["cert", "show", complete, "--json"]).json();
    assert_eq!(show["status"], "issued");
    std::fs::write(h.path("completed.pem"), show["pem"].as_str().unwrap()).unwrap();
    std::fs::write(
        h.path("issuing.pem"),
        h.run(&["ca", "show", "issuing", "--pem"]).ok().stdout,
    )
    .unwrap();
    pki::verify_chain(h, &h.path("completed.pem"));
    // The completed certificate carries exactly the TBS recorded before signing.
    openssl::ok(&[
        "asn1parse",
        "-in",
        h.path("completed.pem").to_str().unwrap(),
        "-strparse",
        "4",
        "-noout",
        "-out",
        h.path("completed.tbs").to_str().unwrap(),
    ]);
    let digest = openssl::ok(&[
        "dgst",
        "-sha256",
        "-r",
        h.path("completed.tbs").to_str().unwrap(),
    ]);
    assert!(digest.starts_with(show["tbs_sha256"].as_str().unwrap()));

    let show: serde_json::Value = h.run(&["cert", "show", revoke, "--json"]).json();
    assert_eq!(show["status"], "revoked");
    assert_eq!(show["revocation"]["reason"], "keyCompromise");

    // --revoke resolves pending records by revoking them.
    let csr = pki::csr(
        &h.path(""),
        "late",
        "p256",
        "/CN=late.example.com",
        &["subjectAltName=DNS:late.example.com"],
    );
    issuance
        .issue_csr(
            &std::fs::read(csr).unwrap(),
            &Overrides::default(),
            SystemClock.now(),
        )
        .unwrap_err();
    let revoked: serde_json::Value = h
        .run(&["reconcile", "--revoke", "--older-than", "0", "--json"])
        .json();
    assert_eq!(revoked.as_array().unwrap().len(), 1);
    assert_eq!(revoked[0]["outcome"], "revoked");
    let s = revoked[0]["serial"].as_str().unwrap();
    let show: serde_json::Value = h.run(&["cert", "show", s, "--json"]).json();
    assert_eq!(show["revocation"]["reason"], "cessationOfOperation");
    let pending: serde_json::Value = h
        .run(&["cert", "list", "--status", "pending", "--json"])
        .json();
    assert!(pending.as_array().unwrap().is_empty());
}
