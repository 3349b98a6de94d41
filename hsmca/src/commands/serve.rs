//! `hsmca serve`: the OCSP responder and the CRL publisher over HTTP, with /healthz,
//! /readyz and /metrics. Runs until SIGINT or SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use ca_core::clock::{Clock, SystemClock};
use ca_core::store::CaStore;
use crl_publisher::http::CrlFiles;
use crl_publisher::{schedule, Publisher};
use ocsp_responder::http::{self, HttpOptions, ReadyCheck};
use ocsp_responder::nudge;
use ocsp_responder::service::{self, Parts};

use crate::cli::ServeArgs;
use crate::context::Env;
use crate::error::{CliError, CliResult};
use crate::runtime;

pub(crate) fn run(env: &Env, a: &ServeArgs) -> CliResult {
    if !env.config.ocsp.enabled && !env.config.crl.enabled {
        return Err(CliError::input(
            "nothing to serve: ocsp.enabled and crl.enabled are both false in the configuration",
        ));
    }
    let store = env.open_store()?;
    let token = env.open_token()?;
    let clock: Arc<dyn Clock + Send + Sync> = Arc::new(SystemClock);
    let mut extra = Vec::new();
    let mut roles = Vec::new();
    if env.config.crl.enabled {
        let publisher = Arc::new(Publisher::new(
            Arc::new(store.clone()),
            token.clone(),
            env.crl_dir(),
            env.config.crl.clone(),
        )?);
        // Publish what is due before answering, so the CRL URLs work from the start; a
        // failure is logged and retried by the schedule.
        if let Err(e) = schedule::run_once(&publisher, clock.now()) {
            tracing::warn!(error = %e, "initial CRL publication failed");
            eprintln!("hsmca: warning: initial CRL publication failed: {e}");
        }
        schedule::spawn(publisher, clock.clone())
            .map_err(|e| CliError::op(format!("cannot start the CRL publisher: {e}")))?;
        let files = CrlFiles::new(Arc::new(store.clone()), env.crl_dir(), clock.clone());
        extra.push(crl_publisher::http::routes(Arc::new(files)));
        roles.push("CRLs");
    }
    let mut socket = None;
    let responder = if env.config.ocsp.enabled {
        let parts = Parts {
            token: token.clone(),
            store: Arc::new(store.clone()),
            profiles: runtime::profiles(env)?,
            clock: clock.clone(),
            config: env.config.ocsp.clone(),
        };
        let responder = service::start(&parts)?;
        service::spawn_background(parts, responder.clone())?;
        let path = nudge::socket_path(&env.data.run_dir());
        nudge::listen(&path, responder.clone())
            .map_err(|e| CliError::op(format!("cannot listen on {}: {e}", path.display())))?;
        socket = Some(path);
        roles.push("OCSP");
        Some(responder)
    } else {
        None
    };
    let names: Vec<String> = store.list_cas()?.into_iter().map(|c| c.name).collect();
    let ready: ReadyCheck = Arc::new(move || {
        token.status().map_err(|e| format!("HSM: {e}"))?;
        store.list_cas().map_err(|e| format!("database: {e}"))?;
        Ok(())
    });
    let s = &env.config.serve;
    let opts = HttpOptions {
        listen: a.listen.clone().unwrap_or_else(|| s.listen.clone()),
        workers: s.workers,
        request_timeout: Duration::from_millis(s.request_timeout_ms),
        keep_alive: Duration::from_secs(s.keep_alive_seconds),
        max_request_bytes: env.config.ocsp.max_request_bytes,
    };
    let listen = opts.listen.clone();
    let roles = roles.join(" and ");
    let result = http::run(responder, clock, ready, opts, extra, |addrs| {
        for a in addrs {
            eprintln!(
                "hsmca: serving {roles} for {} on http://{a}/ocsp",
                names.join(", ")
            );
        }
    });
    if let Some(path) = socket {
        let _ = std::fs::remove_file(path);
    }
    result.map_err(|e| CliError::op(format!("HTTP server on {listen}: {e}")))
}
