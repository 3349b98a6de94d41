//! `hsmca reconcile`: complete or revoke `pending` records left by a crash.

use ca_core::clock::{Clock, SystemClock};
use std::collections::HashMap;

use ca_core::issuer::Issuer;
use ca_core::reconcile::{reconcile, Mode, Outcome};
use chrono::Duration;

use crate::cli::ReconcileArgs;
use crate::context::Env;
use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::runtime;

const ACTOR: &str = "crypto-officer:cli";

pub(crate) fn run(env: &Env, a: &ReconcileArgs) -> CliResult {
    let store = env.open_store()?;
    let mode = if a.revoke {
        Mode::Revoke
    } else {
        Mode::Complete
    };
    // The token and each CA's issuer are opened once, on first need, and reused for every
    // pending record of that CA.
    let mut token: Option<std::sync::Arc<hsm_backend::Token>> = None;
    let mut issuers: HashMap<String, Issuer> = HashMap::new();
    let mut issuer_for = |ca_name: &str| -> Result<Issuer, String> {
        if let Some(i) = issuers.get(ca_name) {
            return Ok(i.clone());
        }
        let t = match &token {
            Some(t) => t.clone(),
            None => token
                .insert(env.open_token().map_err(|e| e.to_string())?)
                .clone(),
        };
        let ca = runtime::ca_record(&store, ca_name).map_err(|e| e.to_string())?;
        let issuer = runtime::issuer(&t, &ca).map_err(|e| e.to_string())?;
        issuers.insert(ca_name.to_string(), issuer.clone());
        Ok(issuer)
    };
    let results = reconcile(
        &store,
        &mut issuer_for,
        mode,
        Duration::seconds(i64::from(a.older_than)),
        ACTOR,
        SystemClock.now(),
    )?;
    let failed = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
        .count();
    if a.json {
        print_json(&serde_json::Value::Array(
            results
                .iter()
                .map(|(s, o)| {
                    let (outcome, error) = match o {
                        Outcome::Completed => ("completed", None),
                        Outcome::Revoked => ("revoked", None),
                        Outcome::Failed(e) => ("failed", Some(e.clone())),
                    };
                    serde_json::json!({"serial": s.to_hex(), "outcome": outcome, "error": error})
                })
                .collect(),
        ))?;
    } else {
        for (s, o) in &results {
            match o {
                Outcome::Completed => println!("{s} completed"),
                Outcome::Revoked => println!("{s} revoked"),
                Outcome::Failed(e) => println!("{s} failed: {e}"),
            }
        }
        eprintln!(
            "hsmca: {} pending record(s) resolved, {failed} failed",
            results.len() - failed
        );
    }
    if failed > 0 {
        return Err(CliError::op(format!(
            "{failed} pending record(s) could not be resolved"
        )));
    }
    Ok(())
}
