//! `hsmca serve` as an OCSP responder, judged by `openssl ocsp` as the client: good, revoked
//! with its reason, unknown, GET and POST, HTTP caching headers and 304, nonce handling,
//! bad and oversized requests, clients that stall, and two nodes on PostgreSQL.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hsmca_tests::cli::Hsmca;
use hsmca_tests::serve::{http, within, Server};
use hsmca_tests::{openssl, pki, postgres};

/// Issues a tls-server certificate from the issuing CA; returns (PEM path, serial hex).
fn issue(h: &Hsmca, name: &str) -> (PathBuf, String) {
    pki::issue_tls(h, name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `openssl ocsp` against the server for `certs`; returns (success, stdout+stderr).
fn query(h: &Hsmca, url: &str, certs: &[&Path], extra: &[&str]) -> (bool, String) {
    let (issuer, root) = (h.path("issuing.pem"), h.path("root.pem"));
    let mut args = vec![
        "ocsp",
        "-issuer",
        s(&issuer),
        "-url",
        url,
        "-CAfile",
        s(&root),
        "-verify_other",
        s(&issuer),
        "-timeout",
        "20",
    ];
    // Options such as -sha256 must come before the certificates they apply to.
    args.extend(extra);
    for c in certs {
        args.extend(["-cert", s(c)]);
    }
    let out = openssl::run(&args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn request_der(h: &Hsmca, cert: &Path, name: &str) -> Vec<u8> {
    let out = h.path(name);
    openssl::ok(&[
        "ocsp",
        "-issuer",
        s(&h.path("issuing.pem")),
        "-cert",
        s(cert),
        "-no_nonce",
        "-reqout",
        s(&out),
    ]);
    std::fs::read(out).unwrap()
}

fn base64(h: &Hsmca, der: &[u8]) -> String {
    let p = h.path("b64.in");
    std::fs::write(&p, der).unwrap();
    openssl::ok(&["base64", "-A", "-in", s(&p)])
        .trim()
        .to_string()
}

/// Checks a DER response with `openssl ocsp -respin`; returns its text.
fn verify_response(h: &Hsmca, der: &[u8], cert: &Path) -> String {
    let p = h.path("resp.der");
    std::fs::write(&p, der).unwrap();
    openssl::ok(&[
        "ocsp",
        "-respin",
        s(&p),
        "-issuer",
        s(&h.path("issuing.pem")),
        "-cert",
        s(cert),
        "-CAfile",
        s(&h.path("root.pem")),
        "-verify_other",
        s(&h.path("issuing.pem")),
    ])
}

fn response_error(h: &Hsmca, der: &[u8]) -> String {
    let p = h.path("err.der");
    std::fs::write(&p, der).unwrap();
    let out = openssl::run(&["ocsp", "-respin", s(&p), "-resp_text", "-noverify"]);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn good_revoked_unknown_over_post_and_get_verified_by_openssl() {
    let h = pki::initialised();
    let (leaf, serial) = issue(&h, "leaf");
    let server = Server::start(&h, &[]);
    let url = server.url();

    // POST, delegated responder (the default): good, and openssl verifies the signature
    // through the responder certificate the issuing CA gave it.
    let (ok, text) = query(&h, &url, &[&leaf], &["-no_nonce", "-resp_text"]);
    assert!(ok, "{text}");
    assert!(text.contains("Response verify OK"), "{text}");
    assert!(text.contains(&format!("{}: good", s(&leaf))), "{text}");
    assert!(
        text.contains("OCSP Signing"),
        "delegated responder certificate: {text}"
    );
    assert!(text.contains("OCSP No Check"), "{text}");

    // Several CAs behind one responder: the root answers for the issuing CA's certificate.
    let (issuing, root) = (h.path("issuing.pem"), h.path("root.pem"));
    let out = openssl::run(&[
        "ocsp",
        "-issuer",
        s(&root),
        "-cert",
        s(&issuing),
        "-url",
        &url,
        "-CAfile",
        s(&root),
        "-no_nonce",
    ]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(&format!("{}: good", s(&issuing))), "{text}");
    assert!(text.contains("Response verify OK"), "{text}");

    // A serial the CA never issued.
    let (ok, text) = query(
        &h,
        &url,
        &[],
        &["-serial", "0x0123456789abcdef", "-no_nonce"],
    );
    assert!(ok, "{text}");
    assert!(text.contains("0x0123456789abcdef: unknown"), "{text}");

    // GET, plain and URL-encoded base64, with the caching headers of RFC 5019 §6.
    let req = request_der(&h, &leaf, "req.der");
    let b64 = base64(&h, &req);
    let encoded = b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let mut etag = String::new();
    for path in [format!("/ocsp/{b64}"), format!("/ocsp/{encoded}")] {
        let r = http(server.addr, "GET", &path, &[], b"");
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some("application/ocsp-response"));
        let cc = r.header("cache-control").unwrap();
        let max_age: i64 = cc
            .strip_prefix("max-age=")
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{cc}"));
        assert!(
            cc.ends_with(", public, no-transform, must-revalidate"),
            "{cc}"
        );
        // Default validity 96 h: max-age is at most that and more than half of it.
        assert!((48 * 3600..=96 * 3600).contains(&max_age), "{cc}");
        assert!(r
            .header("last-modified")
            .is_some_and(|v| v.ends_with(" GMT")));
        assert!(r.header("expires").is_some_and(|v| v.ends_with(" GMT")));
        etag = r.header("etag").expect("ETag").to_string();
        let text = verify_response(&h, &r.body, &leaf);
        assert!(text.contains(": good"), "{text}");
        assert!(text.contains("Response verify OK"), "{text}");
    }

    // Conditional GET.
    let path = format!("/ocsp/{b64}");
    let r = http(server.addr, "GET", &path, &[("If-None-Match", &etag)], b"");
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let r = http(
        server.addr,
        "GET",
        &path,
        &[("If-None-Match", "\"other\"")],
        b"",
    );
    assert_eq!(r.status, 200);
    let last_modified = r.header("last-modified").unwrap().to_string();
    let r = http(
        server.addr,
        "GET",
        &path,
        &[("If-Modified-Since", &last_modified)],
        b"",
    );
    assert_eq!(r.status, 304);

    // Default nonce policy: the pre-signed response, without the nonce (documented).
    let (ok, text) = query(&h, &url, &[&leaf], &["-nonce"]);
    assert!(ok, "{text}");
    assert!(text.contains("WARNING: no nonce in response"), "{text}");
    assert!(text.contains("Response verify OK"), "{text}");

    // Revocation: re-signed in the store before `hsmca revoke` returns, and the very next
    // query says revoked, with the reason.
    h.run(&["revoke", &serial, "--reason", "keyCompromise"])
        .ok();
    let store = ca_store::Store::open(s(&h.data_dir().join("hsmca.db")), 1).unwrap();
    let stored = ca_core::store::OcspStore::ocsp_response(
        &store,
        &ca_core::serial::Serial::parse(&serial).unwrap(),
    )
    .unwrap()
    .expect("a stored response");
    assert_eq!(stored.signed_for, ca_core::store::CertStatus::Revoked);
    assert!(!stored.stale);
    let (ok, text) = query(&h, &url, &[&leaf], &["-no_nonce"]);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("{}: revoked", s(&leaf))), "{text}");
    assert!(text.contains("Reason: keyCompromise"), "{text}");
    let r = http(server.addr, "GET", &path, &[("If-None-Match", &etag)], b"");
    assert_eq!(r.status, 200, "the old ETag no longer matches");
    assert!(verify_response(&h, &r.body, &leaf).contains(": revoked"));

    // Service endpoints.
    let r = http(server.addr, "GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200);
    let r = http(server.addr, "GET", "/readyz", &[], b"");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = http(server.addr, "GET", "/metrics", &[], b"");
    let metrics = String::from_utf8(r.body).unwrap();
    assert!(
        metrics.contains("hsmca_ocsp_cache_hits_total "),
        "{metrics}"
    );
    let presigned: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hsmca_ocsp_cached_presigned "))
        .and_then(|v| v.parse().ok())
        .expect("gauge");
    assert!(presigned >= 1, "{metrics}");
}

#[test]
fn bad_oversized_and_stalled_requests_leave_the_server_serving() {
    let h = pki::initialised();
    h.write(
        "data/hsmca.toml",
        "[serve]\nrequest_timeout_ms = 1000\n[ocsp]\nmax_request_bytes = 1024\n",
    );
    let (leaf, _) = issue(&h, "leaf");
    let mut server = Server::start(&h, &[]);
    let req = request_der(&h, &leaf, "req.der");

    // Not DER, truncated, trailing garbage, empty: malformedRequest, as openssl reads it.
    let mut trailing = req.clone();
    trailing.extend_from_slice(b"junk");
    for body in [
        b"hello".to_vec(),
        req[..req.len() / 2].to_vec(),
        trailing,
        Vec::new(),
    ] {
        let r = http(
            server.addr,
            "POST",
            "/ocsp",
            &[("Content-Type", "application/ocsp-request")],
            &body,
        );
        assert_eq!(r.status, 200);
        let text = response_error(&h, &r.body);
        assert!(text.contains("malformedrequest"), "{text}");
    }
    let r = http(server.addr, "GET", "/ocsp/!!notbase64!!", &[], b"");
    assert!(response_error(&h, &r.body).contains("malformedrequest"));

    // Oversized: 413 before parsing, by declared length and by GET path length.
    let r = http(server.addr, "POST", "/ocsp", &[], &vec![0x30; 100 * 1024]);
    assert_eq!(r.status, 413);
    let r = http(
        server.addr,
        "GET",
        &format!("/ocsp/{}", "A".repeat(4000)),
        &[],
        b"",
    );
    assert_eq!(r.status, 413);

    // Clients that connect and leave, or send half a request and stall.
    for _ in 0..20 {
        drop(TcpStream::connect(server.addr).unwrap());
    }
    let mut stalled = Vec::new();
    for i in 0..10 {
        let mut c = TcpStream::connect(server.addr).unwrap();
        if i % 2 == 0 {
            c.write_all(b"POST /ocsp HTTP/1.1\r\nHost: x\r\n").unwrap();
        } else {
            c.write_all(b"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
                .unwrap();
        }
        stalled.push(c);
    }
    let started = Instant::now();
    let (ok, text) = query(&h, &server.url(), &[&leaf], &["-no_nonce"]);
    assert!(ok && text.contains(": good"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The stalled connections are cut after the 1 s request timeout.
    for mut c in stalled {
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = Vec::new();
        let begun = Instant::now();
        let _ = c.read_to_end(&mut buf);
        assert!(
            begun.elapsed() < Duration::from_secs(8),
            "stalled client kept open"
        );
    }
    assert!(server.alive(), "{}", server.log());
    let (ok, text) = query(&h, &server.url(), &[&leaf], &["-no_nonce"]);
    assert!(ok && text.contains(": good"), "{text}");
}

#[test]
fn nonce_echo_ca_key_signer_sha256_ids_and_several_certificates() {
    let h = pki::initialised();
    h.write(
        "data/hsmca.toml",
        "[ocsp]\nnonce = \"echo\"\nsigner = \"ca\"\n",
    );
    let (a, _) = issue(&h, "a");
    let (b, serial_b) = issue(&h, "b");
    h.run(&["revoke", &serial_b, "--reason", "superseded"]).ok();
    let server = Server::start(&h, &[]);
    // The nonce is echoed (openssl checks it) and the issuing CA's own key signs.
    let (ok, text) = query(&h, &server.url(), &[&a], &["-nonce", "-resp_text"]);
    assert!(ok, "{text}");
    assert!(!text.contains("WARNING: no nonce"), "{text}");
    assert!(text.contains("OCSP Nonce"), "{text}");
    assert!(
        !text.contains("OCSP Signing"),
        "no delegated certificate: {text}"
    );
    assert!(text.contains("Response verify OK"), "{text}");
    // SHA-256 CertIDs.
    let (ok, text) = query(&h, &server.url(), &[&a], &["-sha256", "-no_nonce"]);
    assert!(ok && text.contains(&format!("{}: good", s(&a))), "{text}");
    // Two certificates in one request.
    let (ok, text) = query(&h, &server.url(), &[&a, &b], &["-no_nonce"]);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("{}: good", s(&a))), "{text}");
    assert!(text.contains(&format!("{}: revoked", s(&b))), "{text}");
    assert!(text.contains("Reason: superseded"), "{text}");
}

#[test]
fn two_nodes_on_postgresql_agree_on_a_revocation_within_five_seconds() {
    let Some(schema) = postgres::schema("ocsp_nodes") else {
        return;
    };
    let url = schema.url();
    let a = pki::initialise(
        Hsmca::new().env("HSMCA_DATABASE_URL", &url),
        pki::PUBLIC_URL_CEREMONY,
    );
    let (leaf, serial) = issue(&a, "leaf");
    // Node B: its own data directory, the same token (SoftHSM2 directory and user PIN)
    // and the same database, and no local nudge from node A's `hsmca revoke`.
    let b = Hsmca::new()
        .env("HSMCA_DATABASE_URL", &url)
        .env("SOFTHSM2_CONF", s(&a.data_dir().join("softhsm2.conf")));
    std::fs::create_dir_all(b.data_dir()).unwrap();
    b.write(
        "data/hsmca.toml",
        &format!(
            "[hsm]\nembedded_softhsm = false\nuser_pin_file = \"{}\"\n",
            s(&a.data_dir().join("secrets/user.pin"))
        ),
    );
    let node_a = Server::start(&a, &[]);
    let node_b = Server::start(&b, &[]);
    for node in [&node_a, &node_b] {
        let (ok, text) = query(&a, &node.url(), &[&leaf], &["-no_nonce"]);
        assert!(ok && text.contains(": good"), "{text}");
    }
    a.run(&["revoke", &serial, "--reason", "keyCompromise"])
        .ok();
    let revoked_at = Instant::now();
    let took = within(Duration::from_secs(5), || {
        let (ok, text) = query(&a, &node_b.url(), &[&leaf], &["-no_nonce"]);
        ok && text.contains(": revoked")
    });
    let took =
        took.unwrap_or_else(|| panic!("node B still not revoked after 5 s:\n{}", node_b.log()));
    eprintln!(
        "node B answered revoked {:?} after the revoke returned",
        took
    );
    assert!(revoked_at.elapsed() < Duration::from_secs(6));
    let (ok, text) = query(&a, &node_a.url(), &[&leaf], &["-no_nonce"]);
    assert!(
        ok && text.contains(": revoked") && text.contains("keyCompromise"),
        "{text}"
    );
}
