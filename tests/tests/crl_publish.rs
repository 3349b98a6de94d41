//! CRLs as relying parties see them: `openssl crl -verify` accepts every one, `openssl
//! verify -crl_check` reports a revoked certificate as revoked and a good one as OK, every
//! certificate's CDP names a shard CRL whose critical IDP is the same URI byte for byte,
//! delta CRLs hold only what changed since their base, the root's CRL lists a revoked
//! sub-CA, `hsmca serve` publishes after a revocation and serves the files over HTTP, a
//! publisher killed mid-way leaves the previous CRL intact, and concurrent publishers on
//! PostgreSQL never reuse or reorder a CRL number.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{Duration as Days, Utc};
use der::Decode;
use hsmca_tests::cli::Hsmca;
use hsmca_tests::serve::{http, within, Server};
use hsmca_tests::{bulk, openssl, pki, postgres};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{BaseCrlNumber, CrlDistributionPoints, CrlNumber};
use x509_cert::Certificate;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn shard_of(h: &Hsmca, serial: &str) -> i64 {
    h.run(&["cert", "show", serial, "--json"]).json()["crl_shard"]
        .as_i64()
        .unwrap()
}

fn crl_file(h: &Hsmca, ca: &str, shard: i64, delta: bool) -> PathBuf {
    let shard = shard.to_string();
    let mut args = vec!["crl", "show", "--ca", ca, "--shard", &shard, "--json"];
    if delta {
        args.push("--delta");
    }
    PathBuf::from(h.run(&args).json()["file"].as_str().unwrap())
}

fn uri(name: &GeneralName) -> String {
    match name {
        GeneralName::UniformResourceIdentifier(u) => u.to_string(),
        other => panic!("not a URI: {other:?}"),
    }
}

/// The certificate's single cRLDistributionPoints URI, as encoded.
fn cdp(pem: &Path) -> String {
    let der = der::pem::decode_vec(&std::fs::read(pem).unwrap())
        .unwrap()
        .1;
    let cert = Certificate::from_der(&der).unwrap();
    let ext = cert
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS)
        .expect("a CDP")
        .clone();
    let points = CrlDistributionPoints::from_der(ext.extn_value.as_bytes()).unwrap();
    match &points.0[0].distribution_point {
        Some(DistributionPointName::FullName(names)) => uri(&names[0]),
        other => panic!("{other:?}"),
    }
}

fn parse_crl(file: &Path) -> CertificateList {
    CertificateList::from_der(&std::fs::read(file).unwrap()).unwrap()
}

fn ext(
    crl: &CertificateList,
    oid: const_oid::ObjectIdentifier,
) -> Option<&x509_cert::ext::Extension> {
    crl.tbs_cert_list
        .crl_extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
}

/// (IDP URI, critical).
fn idp(crl: &CertificateList) -> (String, bool) {
    let e = ext(
        crl,
        const_oid::db::rfc5280::ID_CE_ISSUING_DISTRIBUTION_POINT,
    )
    .expect("an IDP");
    let v = IssuingDistributionPoint::from_der(e.extn_value.as_bytes()).unwrap();
    match v.distribution_point {
        Some(DistributionPointName::FullName(names)) => (uri(&names[0]), e.critical),
        other => panic!("{other:?}"),
    }
}

fn number(crl: &CertificateList) -> u64 {
    let e = ext(crl, const_oid::db::rfc5280::ID_CE_CRL_NUMBER).unwrap();
    let n = CrlNumber::from_der(e.extn_value.as_bytes()).unwrap();
    n.0.as_bytes()
        .iter()
        .fold(0u64, |a, b| a * 256 + u64::from(*b))
}

fn serials(crl: &CertificateList) -> Vec<String> {
    crl.tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .map(|r| {
            let b = r.serial_number.as_bytes();
            let start = b.iter().position(|x| *x != 0).unwrap_or(0);
            hex::encode(&b[start..])
        })
        .collect()
}

fn verify_crl(h: &Hsmca, file: &Path, ca_pem: &str) {
    let text = openssl::ok(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        s(file),
        "-CAfile",
        s(&h.path(ca_pem)),
        "-noout",
        "-verify",
    ]);
    assert!(text.contains("verify OK"), "{}: {text}", file.display());
}

/// `openssl verify -crl_check` of `cert` with `crls`; (exit success, output).
fn verify_cert(h: &Hsmca, cert: &Path, crls: &[&Path], all: bool) -> (bool, String) {
    let mut args = vec![
        "verify".to_string(),
        if all { "-crl_check_all" } else { "-crl_check" }.to_string(),
        "-CAfile".into(),
        s(&h.path("root.pem")).into(),
        "-untrusted".into(),
        s(&h.path("issuing.pem")).into(),
    ];
    for c in crls {
        // openssl verify reads CRL files as PEM.
        let pem = PathBuf::from(format!("{}.pem", c.display()));
        args.push("-CRLfile".into());
        args.push(s(&pem).into());
    }
    args.push(s(cert).into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = openssl::run(&refs);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn shard_crls_verify_match_their_cdp_and_report_revoked_and_good() {
    let h = pki::initialised();
    let certs: Vec<(PathBuf, String)> = (0..6)
        .map(|i| pki::issue_tls(&h, &format!("c{i}")))
        .collect();
    let (revoked, good) = (&certs[0], &certs[1]);
    h.run(&[
        "revoke",
        &revoked.1,
        "--reason",
        "keyCompromise",
        "--invalidity-date",
        "2026-11-01T00:00:00Z",
    ])
    .ok();
    h.run(&["crl", "generate"]).ok();

    // Every shard of the issuing CA and the root's CRL verify.
    for shard in 0..8 {
        verify_crl(&h, &crl_file(&h, "issuing", shard, false), "issuing.pem");
    }
    verify_crl(&h, &crl_file(&h, "root", 0, false), "root.pem");

    // Every unexpired certificate's CDP names its shard's CRL, whose critical IDP carries
    // the same URI; the revoked one is listed there once.
    for (pem, serial) in &certs {
        let shard = shard_of(&h, serial);
        let file = crl_file(&h, "issuing", shard, false);
        let crl = parse_crl(&file);
        let (idp_uri, critical) = idp(&crl);
        assert!(critical);
        assert_eq!(
            idp_uri,
            cdp(pem),
            "IDP of shard {shard} and the CDP of {serial}"
        );
        assert_eq!(
            idp_uri,
            format!("http://pki.example.com/crl/issuing/{shard}.crl")
        );
        let listed = serials(&crl).iter().filter(|x| *x == serial).count();
        assert_eq!(
            listed,
            usize::from(serial == &revoked.1),
            "{serial} in shard {shard}"
        );
    }
    let text = openssl::ok(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        s(&crl_file(&h, "issuing", shard_of(&h, &revoked.1), false)),
        "-noout",
        "-text",
    ]);
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains("Invalidity Date"), "{text}");

    // openssl's own revocation check.
    let crl = crl_file(&h, "issuing", shard_of(&h, &revoked.1), false);
    let (ok, text) = verify_cert(&h, &revoked.0, &[&crl], false);
    assert!(!ok && text.contains("certificate revoked"), "{text}");
    let crl = crl_file(&h, "issuing", shard_of(&h, &good.1), false);
    let (ok, text) = verify_cert(&h, &good.0, &[&crl], false);
    assert!(ok && text.contains(": OK"), "{text}");

    // The root's CRL lists the issuing CA once it is revoked: every leaf then fails
    // a full-chain check.
    let root_crl = crl_file(&h, "root", 0, false);
    let (ok, text) = verify_cert(&h, &good.0, &[&crl, &root_crl], true);
    assert!(ok, "{text}");
    let issuing_serial = h.run(&["ca", "show", "issuing", "--json"]).json()["serial"]
        .as_str()
        .unwrap()
        .to_string();
    h.run(&["revoke", &issuing_serial, "--reason", "caCompromise"])
        .ok();
    h.run(&["crl", "generate", "--ca", "root"]).ok();
    let root = parse_crl(&root_crl);
    assert_eq!(serials(&root), vec![issuing_serial.clone()]);
    verify_crl(&h, &root_crl, "root.pem");
    let (ok, text) = verify_cert(&h, &good.0, &[&crl, &root_crl], true);
    assert!(!ok && text.contains("certificate revoked"), "{text}");
}

#[test]
fn delta_crls_hold_only_what_changed_since_their_base() {
    let h = pki::initialise(
        Hsmca::new(),
        &pki::PUBLIC_URL_CEREMONY.replace("crl_shards = 8", "crl_shards = 2"),
    );
    let certs: Vec<(PathBuf, String)> = (0..5)
        .map(|i| pki::issue_tls(&h, &format!("d{i}")))
        .collect();
    // Two in one shard (five certificates, two shards).
    let (a, b) = {
        let mut pair = None;
        'outer: for i in 0..certs.len() {
            for j in i + 1..certs.len() {
                if shard_of(&h, &certs[i].1) == shard_of(&h, &certs[j].1) {
                    pair = Some((certs[i].1.clone(), certs[j].1.clone()));
                    break 'outer;
                }
            }
        }
        pair.unwrap()
    };
    let shard = shard_of(&h, &a);
    h.run(&["revoke", &a, "--reason", "superseded"]).ok();
    // Revocation times are whole seconds and a delta lists revocations at or after its
    // base's thisUpdate (overlap rather than a gap): let a second pass on both sides.
    std::thread::sleep(Duration::from_millis(1100));
    h.run(&["crl", "generate", "--ca", "issuing"]).ok();
    let base = parse_crl(&crl_file(&h, "issuing", shard, false));
    assert_eq!(serials(&base), vec![a.clone()]);
    std::thread::sleep(Duration::from_millis(1100));
    h.run(&["revoke", &b, "--reason", "keyCompromise"]).ok();
    h.run(&["crl", "generate", "--ca", "issuing", "--delta"])
        .ok();
    let file = crl_file(&h, "issuing", shard, true);
    verify_crl(&h, &file, "issuing.pem");
    let delta = parse_crl(&file);
    assert_eq!(
        serials(&delta),
        vec![b.clone()],
        "only the revocation after the base"
    );
    let indicator =
        ext(&delta, const_oid::db::rfc5280::ID_CE_DELTA_CRL_INDICATOR).expect("deltaCRLIndicator");
    assert!(indicator.critical);
    let base_number = BaseCrlNumber::from_der(indicator.extn_value.as_bytes()).unwrap();
    assert_eq!(
        base_number
            .0
            .as_bytes()
            .iter()
            .fold(0u64, |x, y| x * 256 + u64::from(*y)),
        number(&base)
    );
    assert!(
        number(&delta) > number(&base),
        "numbers are shared and increasing"
    );
    assert_eq!(idp(&delta), idp(&base), "a delta has its base's IDP");
    // The other shard's delta is empty.
    let other = parse_crl(&crl_file(&h, "issuing", 1 - shard, true));
    assert!(serials(&other).is_empty());
    // A delta with no base is refused.
    let fresh = pki::initialised();
    fresh
        .run(&["crl", "generate", "--ca", "issuing", "--delta"])
        .refused("has no full CRL yet");
}

#[test]
fn serve_publishes_after_a_revocation_and_serves_crls_over_http() {
    let h = pki::initialised();
    h.write("data/hsmca.toml", "[crl]\nrevocation_delay_seconds = 1\n");
    let (leaf, serial) = pki::issue_tls(&h, "w");
    let shard = shard_of(&h, &serial);
    let server = Server::start(&h, &[]);
    let path = format!("/crl/issuing/{shard}.crl");
    let r = http(server.addr, "GET", &path, &[], b"");
    assert_eq!(r.status, 200, "published at start");
    assert_eq!(r.header("content-type"), Some("application/pkix-crl"));
    let cc = r.header("cache-control").unwrap();
    assert!(
        cc.starts_with("max-age=") && cc.ends_with(", public, no-transform, must-revalidate"),
        "{cc}"
    );
    let etag = r.header("etag").unwrap().to_string();
    assert!(r.header("last-modified").is_some() && r.header("expires").is_some());
    let first = CertificateList::from_der(&r.body).unwrap();
    assert!(serials(&first).is_empty());
    assert_eq!(
        r.body,
        std::fs::read(crl_file(&h, "issuing", shard, false)).unwrap()
    );
    let r = http(server.addr, "GET", &path, &[("If-None-Match", &etag)], b"");
    assert_eq!(r.status, 304);
    for missing in [
        "/crl/issuing/99.crl",
        "/crl/nosuchca/0.crl",
        "/crl/issuing/x.crl",
    ] {
        assert_eq!(
            http(server.addr, "GET", missing, &[], b"").status,
            404,
            "{missing}"
        );
    }
    // The root's CRL and a delta are served at their URLs too.
    assert_eq!(
        http(server.addr, "GET", "/crl/root.crl", &[], b"").status,
        200
    );
    assert_eq!(
        http(
            server.addr,
            "GET",
            &format!("/crl/issuing/{shard}-delta.crl"),
            &[],
            b""
        )
        .status,
        200
    );

    h.run(&["revoke", &serial, "--reason", "keyCompromise"])
        .ok();
    let took = within(Duration::from_secs(15), || {
        let r = http(server.addr, "GET", &path, &[], b"");
        r.status == 200 && serials(&CertificateList::from_der(&r.body).unwrap()).contains(&serial)
    });
    assert!(
        took.is_some(),
        "the revocation did not reach the CRL:\n{}",
        server.log()
    );
    let r = http(server.addr, "GET", &path, &[("If-None-Match", &etag)], b"");
    assert_eq!(r.status, 200);
    let crl = CertificateList::from_der(&r.body).unwrap();
    assert!(number(&crl) > number(&first));
    let _ = leaf;
}

#[test]
fn a_publisher_killed_mid_way_leaves_the_previous_crl_intact_and_its_leftovers_are_swept_later() {
    let h = pki::initialised();
    let not_after = Utc::now().naive_utc() + Days::days(30);
    let revoked_at = Utc::now().naive_utc() - Days::days(1);
    bulk::insert_revoked(
        s(&h.data_dir().join("hsmca.db")),
        "issuing",
        0,
        150_000,
        not_after,
        revoked_at,
    );
    h.run(&["crl", "generate", "--ca", "issuing", "--shard", "0"])
        .ok();
    let file = crl_file(&h, "issuing", 0, false);
    let first = number(&parse_crl(&file));
    let mut seen = vec![first];
    for (i, delay) in [150u64, 300, 450, 600, 900].into_iter().enumerate() {
        let mut child = h
            .command(&["crl", "generate", "--ca", "issuing", "--shard", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever the moment, the published CRL is a whole one that verifies.
        verify_crl(&h, &file, "issuing.pem");
        let crl = parse_crl(&file);
        assert_eq!(serials(&crl).len(), 150_000, "kill {i}");
        let n = number(&crl);
        assert!(n >= *seen.last().unwrap(), "kill {i}: number went back");
        seen.push(n);
    }
    eprintln!("CRL numbers seen across kills: {seen:?}");

    // What the kills left behind is swept by the next publication once it is an hour old;
    // a young temporary file (another publisher's CRL in the making) is left alone.
    let dir = file.parent().unwrap();
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    let mut leftovers: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .collect();
    leftovers.push(dir.join(".tmp-stale"));
    std::fs::write(dir.join(".tmp-stale"), b"part of a CRL").unwrap();
    for p in &leftovers {
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
    }
    std::fs::write(dir.join(".tmp-young"), b"part of a CRL").unwrap();
    h.run(&["crl", "generate", "--ca", "issuing", "--shard", "0"])
        .ok();
    for p in &leftovers {
        assert!(!p.exists(), "{} was not swept", p.display());
    }
    assert!(dir.join(".tmp-young").exists());
}

#[test]
fn concurrent_publishers_on_postgresql_keep_crl_numbers_unique_and_increasing() {
    let Some(schema) = postgres::schema("crl_numbers") else {
        return;
    };
    let h = pki::initialise(
        Hsmca::new().env("HSMCA_DATABASE_URL", &schema.url()),
        pki::PUBLIC_URL_CEREMONY,
    );
    let mut children = Vec::new();
    for _ in 0..4 {
        children.push(
            h.command(&["crl", "generate", "--ca", "issuing"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = h
        .run(&[
            "crl", "list", "--ca", "issuing", "--limit", "1000", "--json",
        ])
        .json();
    for shard in 0..8 {
        let mut numbers: Vec<i64> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["shard"] == shard)
            .map(|r| r["number"].as_i64().unwrap())
            .collect();
        assert_eq!(numbers.len(), 4, "shard {shard}");
        numbers.sort();
        numbers.dedup();
        assert_eq!(
            numbers.len(),
            4,
            "shard {shard}: a CRL number was handed out twice"
        );
        // The published file holds the highest number, whatever order the renames ran in.
        let crl = parse_crl(&crl_file(&h, "issuing", shard, false));
        assert_eq!(
            number(&crl) as i64,
            *numbers.last().unwrap(),
            "shard {shard}"
        );
        verify_crl(&h, &crl_file(&h, "issuing", shard, false), "issuing.pem");
    }
}

#[test]
fn an_entry_stays_until_one_crl_after_its_certificate_expires_then_drops_off() {
    let h = pki::initialise(
        Hsmca::new(),
        &pki::PUBLIC_URL_CEREMONY
            .replace("crl_shards = 8", "crl_shards = 1")
            .replace("{shard}", "0"),
    );
    let now = Utc::now().naive_utc();
    let db = h.data_dir().join("hsmca.db");
    let expiring = bulk::insert_revoked(
        s(&db),
        "issuing",
        0,
        1,
        now + Days::seconds(2),
        now - Days::hours(1),
    );
    let lasting = bulk::insert_revoked(
        s(&db),
        "issuing",
        0,
        1,
        now + Days::days(30),
        now - Days::hours(1),
    );
    let (expiring, lasting) = (expiring[0].to_hex(), lasting[0].to_hex());
    let listed = || {
        h.run(&["crl", "generate", "--ca", "issuing"]).ok();
        serials(&parse_crl(&crl_file(&h, "issuing", 0, false)))
    };
    let first = listed();
    assert!(first.contains(&expiring) && first.contains(&lasting));
    // Expired now, but not yet on a CRL issued after its expiry: still listed.
    std::thread::sleep(Duration::from_millis(3100));
    let second = listed();
    assert!(
        second.contains(&expiring),
        "kept on the first CRL after expiry"
    );
    std::thread::sleep(Duration::from_millis(1100));
    let third = listed();
    assert!(!third.contains(&expiring), "dropped after that");
    assert!(third.contains(&lasting));
}

#[test]
fn a_profile_with_freshest_crl_points_certificates_at_their_shards_delta() {
    let h = pki::initialised();
    let dir = h.path("profiles");
    std::fs::create_dir_all(&dir).unwrap();
    let tls = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../profiles/tls-server.toml"
    ))
    .unwrap();
    let delta = tls
        .replace("name = \"tls-server\"", "name = \"tls-server-delta\"")
        .replace(
            "crl_distribution_point = true",
            "crl_distribution_point = true\nfreshest_crl = true",
        );
    assert!(delta.contains("freshest_crl = true"));
    std::fs::write(dir.join("tls-server-delta.toml"), delta).unwrap();
    h.write(
        "data/hsmca.toml",
        &format!("[issuance]\nprofiles_dir = \"{}\"\n", s(&dir)),
    );
    let csr = pki::csr(
        &h.path(""),
        "f",
        "p256",
        "/CN=f.example.com",
        &["subjectAltName=DNS:f.example.com"],
    );
    let out = h.path("f.pem");
    h.run(&[
        "issue",
        "--ca",
        "issuing",
        "--profile",
        "tls-server-delta",
        "--csr",
        s(&csr),
        "--out",
        s(&out),
    ])
    .ok();
    let serial = openssl::ok(&["x509", "-in", s(&out), "-noout", "-serial"]);
    let shard = shard_of(
        &h,
        serial
            .trim()
            .trim_start_matches("serial=")
            .to_ascii_lowercase()
            .as_str(),
    );
    let text = openssl::x509_text(&out);
    assert!(text.contains("X509v3 Freshest CRL"), "{text}");
    assert!(
        text.contains(&format!(
            "URI:http://pki.example.com/crl/issuing/{shard}-delta.crl"
        )),
        "{text}"
    );
    // The root CA publishes no delta CRLs, so the profile cannot be used there.
    h.run(&["crl", "generate", "--ca", "root", "--delta"])
        .refused("publishes no delta CRLs");
}

#[test]
fn unknown_cas_and_shards_are_refused_and_change_nothing() {
    let h = pki::initialised();
    h.run(&["crl", "generate", "--ca", "nosuch"])
        .refused("no CA named \"nosuch\"");
    h.run(&["crl", "generate", "--ca", "issuing", "--shard", "8"])
        .refused("has shards 0 to 7, not 8");
    h.run(&["crl", "show", "--ca", "issuing", "--shard", "99"])
        .refused("has shards 0 to 7, not 99");
    h.run(&["crl", "show", "--ca", "issuing"])
        .refused("has been published");
    h.run(&["crl", "list", "--ca", "nosuch"])
        .refused("no CA named");
    let listed = h.run(&["crl", "list", "--json"]).json();
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(0),
        "nothing was signed"
    );
    assert!(!h
        .data_dir()
        .join("crl")
        .join("issuing")
        .join("8.crl")
        .exists());
}
