//! RFC 6960 messages: requests made by `openssl ocsp` parse and re-encode byte for byte, and
//! responses signed through the HSM are accepted by `openssl ocsp -respin` (good, and revoked
//! with its reason). Groundwork of the OCSP responder.

use ca_core::clock::{Clock, SystemClock};
use ca_core::issue::{Issuance, Overrides};
use ca_core::keycheck::Blocklist;
use ca_core::ocsp::asn1::{CertStatus, OcspRequest, RevokedInfo, SingleResponse};
use ca_core::ocsp::response::{cert_id_matches_issuer, generalized, sign_response};
use chrono::Duration;
use der::asn1::Null;
use der::{Decode, Encode};
use hsmca_tests::{inproc, openssl, pki, softhsm};
use x509_cert::ext::pkix::CrlReason;
use x509_cert::Certificate;

fn pem(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap()
}

#[test]
fn openssl_requests_parse_and_hsm_signed_responses_verify_in_openssl() {
    let t = softhsm::fresh_token("ocsp");
    let dir = tempfile::tempdir().unwrap();
    let store = ca_store::Store::open(dir.path().join("o.db").to_str().unwrap(), 2).unwrap();
    let pki_ = inproc::ceremony(
        &t.token,
        &store,
        include_str!("../../ceremony/default.toml"),
        "ocsp",
    );
    let profiles = profiles::ProfileSet::builtin().unwrap();
    let issuance = Issuance {
        issuer: &pki_.issuing,
        ca: &pki_.issuing_ca,
        profile: profiles.get("tls-server").unwrap(),
        blocklist: &Blocklist::empty(),
        certs: &store,
        actor: "test",
    };
    let csr = pki::csr(
        dir.path(),
        "leaf",
        "p256",
        "/CN=o.example.com",
        &["subjectAltName=DNS:o.example.com"],
    );
    let leaf = issuance
        .issue_csr(
            &std::fs::read(csr).unwrap(),
            &Overrides::default(),
            SystemClock.now(),
        )
        .unwrap()
        .issued;
    let root_der = ca_core::store::CaStore::ca(&store, "root")
        .unwrap()
        .unwrap()
        .certificate_der;
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("leaf.pem"), pem(&leaf.der)).unwrap();
    std::fs::write(p("issuing.pem"), pem(&pki_.issuing_ca.certificate_der)).unwrap();
    std::fs::write(p("root.pem"), pem(&root_der)).unwrap();
    let s = |n: &str| p(n).to_str().unwrap().to_string();

    for digest in ["-sha256", "-sha1"] {
        openssl::ok(&[
            "ocsp",
            "-issuer",
            &s("issuing.pem"),
            digest,
            "-cert",
            &s("leaf.pem"),
            "-reqout",
            &s("req.der"),
        ]);
        let req_der = std::fs::read(p("req.der")).unwrap();
        let req = OcspRequest::from_der(&req_der).unwrap();
        assert_eq!(
            req.to_der().unwrap(),
            req_der,
            "{digest}: re-encodes byte for byte (nonce extension included)"
        );
        assert!(
            req.tbs_request.request_extensions.is_some(),
            "openssl sends a nonce by default"
        );
        let id = &req.tbs_request.request_list[0].req_cert;
        // The DER INTEGER keeps the pad octet of a serial whose top bit is set.
        assert_eq!(
            ca_core::serial::Serial::from_bytes(id.serial_number.as_bytes()).unwrap(),
            leaf.serial
        );
        let issuing = Certificate::from_der(&pki_.issuing_ca.certificate_der).unwrap();
        let root = Certificate::from_der(&root_der).unwrap();
        assert!(cert_id_matches_issuer(id, &issuing).unwrap(), "{digest}");
        assert!(
            !cert_id_matches_issuer(id, &root).unwrap(),
            "{digest}: another issuer does not match"
        );
    }

    // The last request (SHA-1 CertID, openssl's default, which `-respin -cert` looks up).
    let req = OcspRequest::from_der(&std::fs::read(p("req.der")).unwrap()).unwrap();
    let id = req.tbs_request.request_list[0].req_cert.clone();
    let now = SystemClock.now();
    let answer = |status: CertStatus, file: &str| {
        let single = SingleResponse {
            cert_id: id.clone(),
            cert_status: status,
            this_update: generalized(now).unwrap(),
            next_update: Some(generalized(now + Duration::days(1)).unwrap()),
            single_extensions: None,
        };
        // The nonce is echoed so that openssl's default nonce check passes.
        let resp = sign_response(
            &pki_.issuing_key,
            vec![single],
            now,
            req.tbs_request.request_extensions.clone(),
            None,
        )
        .unwrap();
        std::fs::write(p(file), resp).unwrap();
        let mut chain = pem(&root_der);
        chain.push_str(&pem(&pki_.issuing_ca.certificate_der));
        std::fs::write(p("chain.pem"), chain).unwrap();
        openssl::ok(&[
            "ocsp",
            "-respin",
            &s(file),
            "-issuer",
            &s("issuing.pem"),
            "-cert",
            &s("leaf.pem"),
            "-CAfile",
            &s("chain.pem"),
            "-resp_text",
            // -respin builds its own request with a fresh nonce, so openssl's nonce
            // comparison cannot apply here; the echo is checked below.
            "-no_nonce",
        ])
    };
    let good = answer(CertStatus::Good(Null), "good.der");
    let nonce = req.tbs_request.request_extensions.as_ref().unwrap()[0]
        .extn_value
        .as_bytes()
        .to_vec();
    let hex_nonce: String = nonce.iter().map(|b| format!("{b:02X}")).collect();
    assert!(good.contains(&hex_nonce), "nonce echoed: {good}");
    assert!(good.contains("Response verify OK"), "{good}");
    assert!(good.contains("leaf.pem: good"), "{good}");

    let revoked = answer(
        CertStatus::Revoked(RevokedInfo {
            revocation_time: generalized(now - Duration::hours(1)).unwrap(),
            revocation_reason: Some(CrlReason::KeyCompromise),
        }),
        "revoked.der",
    );
    assert!(revoked.contains("Response verify OK"), "{revoked}");
    assert!(revoked.contains("leaf.pem: revoked"), "{revoked}");
    assert!(revoked.contains("Reason: keyCompromise"), "{revoked}");

    let unknown = answer(CertStatus::Unknown(Null), "unknown.der");
    assert!(unknown.contains("leaf.pem: unknown"), "{unknown}");

    // Error responses carry only the status.
    let err = ca_core::ocsp::response::error_response(
        ca_core::ocsp::asn1::OcspResponseStatus::MalformedRequest,
    )
    .unwrap();
    std::fs::write(p("err.der"), err).unwrap();
    let out = openssl::run(&["ocsp", "-respin", &s("err.der"), "-resp_text", "-noverify"]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("malformedrequest"), "{text}");
}
