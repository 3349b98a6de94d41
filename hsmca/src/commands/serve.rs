//! `hsmca serve`: the OCSP responder over HTTP, with /healthz, /readyz and /metrics.
//! Runs until SIGINT or SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use ca_core::clock::{Clock, SystemClock};
use ca_core::store::CaStore;
use ocsp_responder::http::{self, HttpOptions, ReadyCheck};
use ocsp_responder::nudge;
use ocsp_responder::service::{self, Parts};

use crate::cli::ServeArgs;
use crate::context::Env;
use crate::error::{CliError, CliResult};
use crate::runtime;

pub(crate) fn run(env: &Env, a: &ServeArgs) -> CliResult {
    if !env.config.ocsp.enabled {
        return Err(CliError::input(
            "nothing to serve: ocsp.enabled is false in the configuration",
        ));
    }
    let store = env.open_store()?;
    let token = env.open_token()?;
    let clock: Arc<dyn Clock + Send + Sync> = Arc::new(SystemClock);
    let parts = Parts {
        token: token.clone(),
        store: Arc::new(store.clone()),
        profiles: runtime::profiles(env)?,
        clock: clock.clone(),
        config: env.config.ocsp.clone(),
    };
    let responder = service::start(&parts)?;
    service::spawn_background(parts, responder.clone())?;
    let socket = nudge::socket_path(&env.data.run_dir());
    nudge::listen(&socket, responder.clone())
        .map_err(|e| CliError::op(format!("cannot listen on {}: {e}", socket.display())))?;
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
    let names: Vec<String> = responder.cas().iter().map(|c| c.name.clone()).collect();
    let result = http::run(responder, clock, ready, opts, |addrs| {
        for a in addrs {
            eprintln!(
                "hsmca: serving OCSP for {} on http://{a}/ocsp",
                names.join(", ")
            );
        }
    });
    let _ = std::fs::remove_file(&socket);
    result.map_err(|e| CliError::op(format!("HTTP server on {listen}: {e}")))
}
