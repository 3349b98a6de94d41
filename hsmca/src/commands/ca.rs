//! `hsmca ca list` and `hsmca ca show`.

use ca_core::store::{CaRecord, CaStore};
use der::Decode;
use x509_cert::Certificate;

use crate::cli::{CaCommand, CaShowArgs};
use crate::context::Env;
use crate::error::{CliError, CliResult};
use crate::output::{fingerprint, pem_certificate, print_json};

pub(crate) fn run(env: &Env, cmd: &CaCommand) -> CliResult {
    let store = env.open_store()?;
    match cmd {
        CaCommand::List(f) => {
            let cas = hierarchy_order(store.list_cas()?);
            if f.json {
                let v: Vec<_> = cas.iter().map(summary_json).collect();
                return print_json(&serde_json::Value::Array(v));
            }
            if cas.is_empty() {
                eprintln!("no CAs: run `hsmca init`");
            }
            for ca in &cas {
                println!(
                    "{:<12} {:<10} {}  (until {})",
                    ca.name,
                    ca.parent.as_deref().unwrap_or("self-signed"),
                    ca.subject,
                    ca.not_after.format("%Y-%m-%d")
                );
            }
            Ok(())
        }
        CaCommand::Show(args) => show(&store, args),
    }
}

/// Roots first, then each CA after its parent (stable within a level).
fn hierarchy_order(cas: Vec<CaRecord>) -> Vec<CaRecord> {
    let depth = |ca: &CaRecord| {
        let mut d = 0;
        let mut parent = ca.parent.clone();
        while let Some(p) = parent {
            d += 1;
            parent = cas
                .iter()
                .find(|c| c.name == p)
                .and_then(|c| c.parent.clone());
            if d > cas.len() {
                break;
            }
        }
        d
    };
    let mut keyed: Vec<(usize, CaRecord)> = cas.iter().map(|c| (depth(c), c.clone())).collect();
    keyed.sort_by_key(|(d, _)| *d);
    keyed.into_iter().map(|(_, c)| c).collect()
}

fn summary_json(ca: &CaRecord) -> serde_json::Value {
    serde_json::json!({
        "name": ca.name,
        "parent": ca.parent,
        "subject": ca.subject,
        "serial": ca.serial.to_hex(),
        "key_label": ca.key_label,
        "not_before": ca.not_before.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "not_after": ca.not_after.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "sha256_fingerprint": fingerprint(&ca.certificate_der),
    })
}

fn show(store: &ca_store::Store, args: &CaShowArgs) -> CliResult {
    let ca = store
        .ca(&args.name)?
        .ok_or_else(|| CliError::input(format!("no CA named {:?}", args.name)))?;
    let pem = pem_certificate(&ca.certificate_der)?;
    if args.pem {
        print!("{pem}");
        return Ok(());
    }
    let cert = Certificate::from_der(&ca.certificate_der)
        .map_err(|e| CliError::op(format!("stored certificate of {:?}: {e}", ca.name)))?;
    let tbs = cert.tbs_certificate();
    if args.json {
        let mut v = summary_json(&ca);
        v["issuer"] = tbs.issuer().to_string().into();
        v["signature_algorithm"] = cert.signature_algorithm().oid.to_string().into();
        v["pem"] = pem.into();
        return print_json(&v);
    }
    println!("name:                {}", ca.name);
    println!(
        "parent:              {}",
        ca.parent.as_deref().unwrap_or("(self-signed root)")
    );
    println!("subject:             {}", ca.subject);
    println!("issuer:              {}", tbs.issuer());
    println!("serial:              {}", ca.serial.to_hex());
    println!(
        "not before:          {}Z",
        ca.not_before.format("%Y-%m-%d %H:%M:%S")
    );
    println!(
        "not after:           {}Z",
        ca.not_after.format("%Y-%m-%d %H:%M:%S")
    );
    println!("signature algorithm: {}", cert.signature_algorithm().oid);
    println!("HSM key label:       {}", ca.key_label);
    println!("SHA-256 fingerprint: {}", fingerprint(&ca.certificate_der));
    if let Some(exts) = tbs.extensions() {
        println!("extensions:");
        for e in exts {
            println!(
                "  {}{}",
                extension_name(&e.extn_id),
                if e.critical { " (critical)" } else { "" }
            );
        }
    }
    Ok(())
}

fn extension_name(oid: &const_oid::ObjectIdentifier) -> String {
    const_oid::db::DB
        .by_oid(oid)
        .map(str::to_string)
        .unwrap_or_else(|| oid.to_string())
}
