//! `hsmca cert list` and `hsmca cert show`.

use ca_core::clock::{Clock, SystemClock};
use ca_core::revocation::Reason;
use ca_core::serial::Serial;
use ca_core::store::{CertFilter, CertStatus, CertificateRecord, CertificateStore};
use chrono::Duration;

use crate::cli::{CertCommand, CertListArgs, CertShowArgs};
use crate::context::Env;
use crate::error::{CliError, CliResult};
use crate::output::{pem_certificate, print_json};

pub(crate) fn run(env: &Env, cmd: &CertCommand) -> CliResult {
    match cmd {
        CertCommand::List(a) => list(env, a),
        CertCommand::Show(a) => show(env, a),
    }
}

fn ts(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(crate) fn record_json(r: &CertificateRecord) -> serde_json::Value {
    let p = &r.pending;
    serde_json::json!({
        "serial": p.serial.to_hex(),
        "ca": p.ca_name,
        "status": r.status.as_str(),
        "profile": p.profile,
        "subject": p.subject,
        "sans": p.sans,
        "not_before": ts(p.not_before),
        "not_after": ts(p.not_after),
        "crl_shard": p.crl_shard,
        "tbs_sha256": hex::encode(&p.tbs_sha256),
        "created_at": ts(p.created_at),
        "issued_at": r.issued_at.map(ts),
        "revocation": r.revocation.as_ref().map(|v| serde_json::json!({
            "reason": Reason::from_code(v.reason).map(|r| r.name()).unwrap_or("unknown"),
            "reason_code": v.reason,
            "revoked_at": ts(v.revoked_at),
            "invalidity_date": v.invalidity_date.map(ts),
        })),
    })
}

fn list(env: &Env, a: &CertListArgs) -> CliResult {
    let status = match &a.status {
        Some(s) => Some(CertStatus::parse(s).ok_or_else(|| {
            CliError::input(format!(
                "--status {s:?} is not one of pending, issued, revoked"
            ))
        })?),
        None => None,
    };
    let now = SystemClock.now();
    let filter = CertFilter {
        ca_name: a.ca.clone(),
        status,
        not_after_before: a
            .expiring_within
            .map(|d| now + Duration::days(i64::from(d))),
        not_after_from: a.expiring_within.map(|_| now),
        limit: a.limit,
    };
    let store = env.open_store()?;
    if let Some(ca) = &a.ca {
        // An unknown CA is a mistake to say, not an empty list.
        crate::runtime::ca_record(&store, ca)?;
    }
    let records = store.list_certificates(&filter)?;
    if a.json {
        return print_json(&serde_json::Value::Array(
            records.iter().map(record_json).collect(),
        ));
    }
    for r in &records {
        let p = &r.pending;
        println!(
            "{:<34} {:<8} {:<10} {:<14} until {}  {}",
            p.serial.to_hex(),
            r.status.as_str(),
            p.ca_name,
            p.profile,
            p.not_after.format("%Y-%m-%d"),
            p.subject
        );
    }
    Ok(())
}

fn show(env: &Env, a: &CertShowArgs) -> CliResult {
    let serial = Serial::parse(&a.serial).map_err(CliError::input)?;
    let store = env.open_store()?;
    let r = store
        .certificate(&serial)?
        .ok_or_else(|| CliError::input(format!("no certificate with serial {serial}")))?;
    if a.pem {
        let der = r.der.as_ref().ok_or_else(|| {
            CliError::input(format!(
                "certificate {serial} is {} and has no signed certificate stored; see `hsmca reconcile`",
                r.status.as_str()
            ))
        })?;
        print!("{}", pem_certificate(der)?);
        return Ok(());
    }
    let mut v = record_json(&r);
    if let Some(der) = &r.der {
        v["pem"] = pem_certificate(der)?.into();
    }
    if a.json {
        return print_json(&v);
    }
    let p = &r.pending;
    println!("serial:     {}", p.serial.to_hex());
    println!("status:     {}", r.status.as_str());
    println!("CA:         {}", p.ca_name);
    println!("profile:    {}", p.profile);
    println!("subject:    {}", p.subject);
    println!("SANs:       {}", p.sans.join(", "));
    println!("validity:   {} to {}", ts(p.not_before), ts(p.not_after));
    println!("CRL shard:  {}", p.crl_shard);
    if let Some(rev) = &r.revocation {
        println!(
            "revoked:    {} ({})",
            ts(rev.revoked_at),
            Reason::from_code(rev.reason)
                .map(|r| r.name())
                .unwrap_or("unknown")
        );
    }
    Ok(())
}
