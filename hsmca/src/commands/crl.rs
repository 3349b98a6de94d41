//! `hsmca crl generate|show|list`.

use std::sync::Arc;

use ca_core::clock::{Clock, SystemClock};
use ca_core::store::{CaStore, CrlRecord, CrlStore};
use crl_publisher::layout::{der_path, pem_path};
use crl_publisher::{Kind, Publisher};

use crate::cli::{CrlCommand, CrlGenerateArgs, CrlListArgs, CrlShowArgs};
use crate::context::Env;
use crate::error::{CliError, CliResult};
use crate::output::print_json;

pub(crate) fn run(env: &Env, cmd: &CrlCommand) -> CliResult {
    match cmd {
        CrlCommand::Generate(a) => generate(env, a),
        CrlCommand::Show(a) => show(env, a),
        CrlCommand::List(a) => list(env, a),
    }
}

fn ts(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn kind(delta: bool) -> Kind {
    if delta {
        Kind::Delta
    } else {
        Kind::Full
    }
}

fn record_json(r: &CrlRecord) -> serde_json::Value {
    serde_json::json!({
        "ca": r.ca_name,
        "shard": r.shard,
        "number": r.number,
        "delta_of": r.base_number,
        "this_update": ts(r.this_update),
        "next_update": ts(r.next_update),
        "entries": r.entries,
        "sha256": hex::encode(&r.sha256),
    })
}

fn generate(env: &Env, a: &CrlGenerateArgs) -> CliResult {
    let store = Arc::new(env.open_store()?);
    let cas = match &a.ca {
        Some(name) => {
            let ca = crate::runtime::ca_record(&store, name)?;
            vec![ca]
        }
        None => store.list_cas()?,
    };
    let publisher = Publisher::new(
        store.clone(),
        env.open_token()?,
        env.crl_dir(),
        env.config.crl.clone(),
    )?;
    let now = SystemClock.now();
    let mut done = 0;
    for ca in &cas {
        // Without --ca, delta CRLs are made for the CAs that publish them.
        if a.delta && a.ca.is_none() && ca.publication.delta_crl.is_none() {
            continue;
        }
        let published = match a.shard {
            Some(shard) => vec![publisher.generate(ca, shard, kind(a.delta), now)?],
            None => publisher.generate_ca(ca, kind(a.delta), now)?,
        };
        for p in published {
            let r = &p.record;
            println!(
                "{}/{}: CRL number {}{}, {} entries, next update {}, {}",
                r.ca_name,
                r.shard,
                r.number,
                r.base_number
                    .map(|b| format!(" (delta of {b})"))
                    .unwrap_or_default(),
                r.entries,
                ts(r.next_update),
                p.der_path.display()
            );
            done += 1;
        }
    }
    if done == 0 {
        return Err(CliError::input(
            "no CA publishes delta CRLs (delta_crl in its [urls])",
        ));
    }
    Ok(())
}

fn show(env: &Env, a: &CrlShowArgs) -> CliResult {
    let store = env.open_store()?;
    let ca = crate::runtime::ca_record(&store, &a.ca)?;
    if !Publisher::shards(&ca).contains(&a.shard) {
        return Err(CliError::input(format!(
            "CA {:?} has shards 0 to {}, not {}",
            ca.name,
            Publisher::shards(&ca).end - 1,
            a.shard
        )));
    }
    let record = store
        .latest_crl(&ca.name, a.shard, a.delta)?
        .ok_or_else(|| {
            CliError::input(format!(
                "no {}CRL of CA {:?} shard {} has been published; run `hsmca crl generate`",
                if a.delta { "delta " } else { "" },
                ca.name,
                a.shard
            ))
        })?;
    let der = der_path(&env.crl_dir(), &ca.name, a.shard, kind(a.delta));
    let pem = pem_path(&der);
    if a.pem {
        let text = std::fs::read_to_string(&pem)
            .map_err(|e| CliError::op(format!("cannot read {}: {e}", pem.display())))?;
        print!("{text}");
        return Ok(());
    }
    if a.json {
        let mut v = record_json(&record);
        v["file"] = serde_json::json!(der.display().to_string());
        v["url"] = serde_json::json!(if a.delta {
            ca.publication.delta_crl_url(a.shard)
        } else {
            ca.publication.crl_url(a.shard)
        });
        return print_json(&v);
    }
    println!("CA:          {}", record.ca_name);
    println!("shard:       {}", record.shard);
    println!("CRL number:  {}", record.number);
    if let Some(b) = record.base_number {
        println!("delta of:    {b}");
    }
    println!("this update: {}", ts(record.this_update));
    println!("next update: {}", ts(record.next_update));
    println!("entries:     {}", record.entries);
    println!("SHA-256:     {}", hex::encode(&record.sha256));
    println!("file:        {}", der.display());
    Ok(())
}

fn list(env: &Env, a: &CrlListArgs) -> CliResult {
    let store = env.open_store()?;
    if let Some(ca) = &a.ca {
        crate::runtime::ca_record(&store, ca)?;
    }
    let records = store.list_crls(a.ca.as_deref(), a.limit)?;
    if a.json {
        return print_json(&serde_json::Value::Array(
            records.iter().map(record_json).collect(),
        ));
    }
    println!(
        "{:<12} {:>5} {:>8} {:>8} {:<20} {:<20} {:>9}",
        "CA", "SHARD", "NUMBER", "DELTA-OF", "THIS UPDATE", "NEXT UPDATE", "ENTRIES"
    );
    for r in records {
        println!(
            "{:<12} {:>5} {:>8} {:>8} {:<20} {:<20} {:>9}",
            r.ca_name,
            r.shard,
            r.number,
            r.base_number
                .map(|b| b.to_string())
                .unwrap_or_else(|| "-".into()),
            ts(r.this_update),
            ts(r.next_update),
            r.entries
        );
    }
    Ok(())
}
