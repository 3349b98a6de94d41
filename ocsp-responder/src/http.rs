//! HTTP for the responder (actix-web): `POST /ocsp` with an `application/ocsp-request`
//! body, `GET /ocsp/{base64 request}` (RFC 5019 §5, RFC 6960 Appendix A.1), and the
//! service endpoints `/healthz`, `/readyz` and `/metrics`.
//!
//! Answers carry `Content-Type: application/ocsp-response`. Cacheable ones (RFC 5019 §6)
//! also carry `Cache-Control: max-age=…, public, no-transform, must-revalidate` up to
//! nextUpdate, `ETag`, `Last-Modified` (thisUpdate) and `Expires` (nextUpdate); a GET with
//! a matching `If-None-Match` or a fresh `If-Modified-Since` gets 304. Bodies over the
//! configured size get 413 before anything is parsed. Slow clients are bounded by read
//! timeouts for the head and the body; a client that connects and goes away costs nothing.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::{Bytes, BytesMut};
use chrono::NaiveDateTime;
use futures_util::StreamExt;

use ca_core::clock::Clock;

use crate::cache::parse_http_date;
use crate::engine::{Caching, Outcome, Reply, Responder};
use crate::metrics::inc;

/// Reports whether the node can serve (HSM and database reachable); the error says which
/// part is not.
pub type ReadyCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address to bind (`127.0.0.1:8080`; port 0 picks a free one).
    pub listen: String,
    /// Worker threads.
    pub workers: usize,
    /// Time a client has to send the request head, and separately the body.
    pub request_timeout: Duration,
    /// Idle keep-alive time.
    pub keep_alive: Duration,
    /// Largest OCSP request, in bytes.
    pub max_request_bytes: usize,
}

/// Routes another crate adds to the same application (the CRL publisher's).
pub type RouteFn = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

struct State {
    responder: Arc<Responder>,
    clock: Arc<dyn Clock + Send + Sync>,
    opts: HttpOptions,
}

/// What the service endpoints (`/healthz`, `/readyz`, `/metrics`) need.
struct Service {
    responder: Option<Arc<Responder>>,
    ready: ReadyCheck,
}

const OCSP_RESPONSE: &str = "application/ocsp-response";

fn now(st: &State) -> NaiveDateTime {
    st.clock.now()
}

fn too_large(st: &State) -> HttpResponse {
    inc(&st.responder.metrics().too_large);
    HttpResponse::PayloadTooLarge()
        .insert_header((header::CONNECTION, "close"))
        .body(format!(
            "OCSP requests are limited to {} bytes\n",
            st.opts.max_request_bytes
        ))
}

enum ReadError {
    TooLarge,
    Broken,
}

async fn read_limited(payload: &mut web::Payload, limit: usize) -> Result<Bytes, ReadError> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ReadError::Broken)?;
        if buf.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

async fn post(req: HttpRequest, mut payload: web::Payload, st: web::Data<State>) -> HttpResponse {
    inc(&st.responder.metrics().requests_post);
    let limit = st.opts.max_request_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(&st);
    }
    let body = match actix_web::rt::time::timeout(
        st.opts.request_timeout,
        read_limited(&mut payload, limit),
    )
    .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(ReadError::TooLarge)) => return too_large(&st),
        Ok(Err(ReadError::Broken)) => return HttpResponse::BadRequest().finish(),
        Err(_) => {
            return HttpResponse::RequestTimeout()
                .insert_header((header::CONNECTION, "close"))
                .finish()
        }
    };
    answer(&req, &st, &body, false).await
}

async fn get_or_405(req: HttpRequest, st: web::Data<State>) -> HttpResponse {
    if req.method() == actix_web::http::Method::GET {
        get(req, st).await
    } else {
        HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "GET, POST"))
            .finish()
    }
}

async fn get(req: HttpRequest, st: web::Data<State>) -> HttpResponse {
    inc(&st.responder.metrics().requests_get);
    let path = req.uri().path();
    let segment = path.strip_prefix("/ocsp/").unwrap_or("");
    match crate::request::decode_get(segment, st.opts.max_request_bytes) {
        Ok(der) => answer(&req, &st, &der, true).await,
        Err(None) => too_large(&st),
        Err(Some(m)) => {
            tracing::debug!(reason = %m.0, "malformed OCSP GET");
            // Let the engine produce the malformedRequest answer (and count it).
            answer(&req, &st, &[], false).await
        }
    }
}

async fn answer(
    req: &HttpRequest,
    st: &web::Data<State>,
    der: &[u8],
    conditional: bool,
) -> HttpResponse {
    let t = now(st);
    match st.responder.answer_fast(der, t) {
        Outcome::Reply(r) => respond(req, r, t, conditional, st),
        Outcome::Sign(work) => {
            let responder = st.responder.clone();
            match web::block(move || responder.answer_slow(work, t)).await {
                Ok(r) => respond(req, r, t, conditional, st),
                Err(_) => HttpResponse::InternalServerError().finish(),
            }
        }
    }
}

fn not_modified(req: &HttpRequest, etag: &str, this_update: NaiveDateTime) -> bool {
    let h = req.headers();
    if let Some(v) = h.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        return v
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag));
    }
    h.get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date)
        .is_some_and(|since| since >= this_update)
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn respond(
    req: &HttpRequest,
    r: Reply,
    t: NaiveDateTime,
    conditional: bool,
    st: &State,
) -> HttpResponse {
    match r.caching {
        Caching::Until(e) => {
            let max_age = (e.next_update - t).num_seconds().max(0);
            let cache_control = format!("max-age={max_age}, public, no-transform, must-revalidate");
            let unchanged = conditional && not_modified(req, &e.etag, e.this_update);
            let mut b = if unchanged {
                inc(&st.responder.metrics().not_modified);
                HttpResponse::build(StatusCode::NOT_MODIFIED)
            } else {
                HttpResponse::Ok()
            };
            b.insert_header((header::CACHE_CONTROL, value(&cache_control)))
                .insert_header((header::ETAG, value(&e.etag)))
                .insert_header((header::LAST_MODIFIED, value(&e.last_modified)))
                .insert_header((header::EXPIRES, value(&e.expires)));
            if unchanged {
                return b.finish();
            }
            b.content_type(OCSP_RESPONSE).body(r.body)
        }
        Caching::NoStore => HttpResponse::Ok()
            .content_type(OCSP_RESPONSE)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(r.body),
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

async fn readyz(st: web::Data<Service>) -> HttpResponse {
    let check = st.ready.clone();
    match web::block(move || check()).await {
        Ok(Ok(())) => HttpResponse::Ok()
            .content_type("text/plain")
            .body("ready\n"),
        Ok(Err(why)) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body(format!("not ready: {why}\n")),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

async fn metrics(st: web::Data<Service>) -> HttpResponse {
    let Some(responder) = &st.responder else {
        return HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body("");
    };
    let (presigned, others) = responder.cache_sizes();
    let body = responder.metrics().render(&[
        (
            "hsmca_ocsp_cached_presigned",
            "Pre-signed responses held in memory",
            presigned as u64,
        ),
        (
            "hsmca_ocsp_cached_other",
            "Other responses held in memory (SHA-256 CertIDs, unknown serials)",
            others as u64,
        ),
        (
            "hsmca_ocsp_store_revision",
            "Last store change applied to memory",
            responder.watermark().max(0) as u64,
        ),
    ]);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}

/// Serves until the process is told to stop (SIGINT, SIGTERM): OCSP when `responder` is
/// given, the service endpoints, and the `extra` routes. `on_bound` is called with the bound
/// addresses once the socket is listening.
pub fn run(
    responder: Option<Arc<Responder>>,
    clock: Arc<dyn Clock + Send + Sync>,
    ready: ReadyCheck,
    opts: HttpOptions,
    extra: Vec<RouteFn>,
    on_bound: impl FnOnce(&[SocketAddr]),
) -> io::Result<()> {
    let ocsp = responder.clone().map(|responder| {
        web::Data::from(Arc::new(State {
            responder,
            clock,
            opts: opts.clone(),
        }))
    });
    let service = web::Data::from(Arc::new(Service { responder, ready }));
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            let ocsp = ocsp.clone();
            let extra = extra.clone();
            App::new()
                .app_data(service.clone())
                .configure(move |cfg| {
                    if let Some(data) = ocsp {
                        // A scope is matched by plain prefix, and GET takes everything under
                        // it: a `{request:.*}` route would run a regex over every (long)
                        // base64 path, which profiling showed costs more than answering.
                        cfg.service(
                            web::scope("/ocsp")
                                .app_data(data)
                                .route("", web::post().to(post))
                                .route("/", web::post().to(post))
                                .default_service(web::to(get_or_405)),
                        );
                    }
                })
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(metrics))
                .configure(move |cfg| {
                    for f in &extra {
                        f(cfg);
                    }
                })
        })
        .workers(opts.workers.max(1))
        // Blocking work is HSM signing (bounded by ocsp.max_signing_queue) and file reads: a
        // few threads per worker keep the cores busy without hundreds of hand-offs.
        .worker_max_blocking_threads(8)
        .client_request_timeout(opts.request_timeout)
        .client_disconnect_timeout(Duration::from_secs(1))
        .keep_alive(opts.keep_alive)
        .bind(&opts.listen)?;
        on_bound(&server.addrs());
        server.run().await
    })
}
