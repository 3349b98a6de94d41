//! Serving published CRLs over HTTP (actix-web). A `GET` on the path of any CRL or delta
//! CRL URL a CA writes into its certificates answers the DER file as `application/pkix-crl`,
//! with `ETag`, `Last-Modified` (thisUpdate), `Expires` (nextUpdate) and
//! `Cache-Control: max-age=…, public, no-transform, must-revalidate` up to nextUpdate; a
//! matching `If-None-Match` or an `If-Modified-Since` at or after thisUpdate gets 304. A path
//! that names no CA or shard, or a CRL not published yet, gets 404.
//!
//! Files are read from the publication directory, so CRLs written by `hsmca crl generate`
//! or another process are served as soon as they are renamed into place; each version is
//! read and hashed once (keyed by modification time and length) and then served from memory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use chrono::NaiveDateTime;
use der::{Decode, Header, SliceReader, Tag};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::name::Name;
use x509_cert::time::Time;

use ca_core::clock::Clock;
use ca_core::time::from_x509;

use crate::layout::{der_path, url_map, Kind};
use crate::PublisherStore;

/// Routes to add to an actix-web application.
pub type RouteFn = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// How long the URL map (built from the CAs' publication URLs) is reused.
const ROUTES_TTL: Duration = Duration::from_secs(10);

/// URL path → (CA, shard, kind), and when it was built.
type Routes = (Instant, HashMap<String, (String, i32, Kind)>);

/// One version of a CRL file, ready to send.
#[derive(Debug)]
struct Served {
    modified: SystemTime,
    len: u64,
    body: Bytes,
    etag: String,
    this_update: NaiveDateTime,
    next_update: NaiveDateTime,
}

/// The published CRLs, by URL path.
pub struct CrlFiles {
    store: Arc<dyn PublisherStore>,
    dir: PathBuf,
    clock: Arc<dyn Clock + Send + Sync>,
    routes: Mutex<Option<Routes>>,
    cache: Mutex<HashMap<PathBuf, Arc<Served>>>,
}

impl std::fmt::Debug for CrlFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlFiles")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// thisUpdate and nextUpdate of a DER CRL, read from the start of its TBS (without
/// decoding the entries).
pub fn crl_times(der: &[u8]) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let mut r = SliceReader::new(der).ok()?;
    let _outer = Header::decode(&mut r).ok()?;
    let _tbs = Header::decode(&mut r).ok()?;
    if Tag::peek(&r).ok()? == Tag::Integer {
        let _version = x509_cert::Version::decode(&mut r).ok()?;
    }
    let _alg = AlgorithmIdentifierOwned::decode(&mut r).ok()?;
    let _issuer = Name::decode(&mut r).ok()?;
    let this = Time::decode(&mut r).ok()?;
    let next = Time::decode(&mut r).ok()?;
    Some((from_x509(&this), from_x509(&next)))
}

impl CrlFiles {
    /// Serves the CRLs published under `dir` for the CAs in `store`.
    pub fn new(
        store: Arc<dyn PublisherStore>,
        dir: PathBuf,
        clock: Arc<dyn Clock + Send + Sync>,
    ) -> Self {
        CrlFiles {
            store,
            dir,
            clock,
            routes: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn route(&self, path: &str) -> Option<(String, i32, Kind)> {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = routes
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < ROUTES_TTL);
        if !fresh {
            match self.store.list_cas() {
                Ok(cas) => *routes = Some((Instant::now(), url_map(&cas))),
                Err(e) => tracing::warn!(error = %e, "cannot list CAs for CRL routes"),
            }
        }
        routes.as_ref().and_then(|(_, m)| m.get(path).cloned())
    }

    fn load(&self, file: &Path) -> Option<Arc<Served>> {
        let meta = std::fs::metadata(file).ok()?;
        let (modified, len) = (meta.modified().ok()?, meta.len());
        if let Some(s) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(file)
        {
            if s.modified == modified && s.len == len {
                return Some(s.clone());
            }
        }
        let body = std::fs::read(file).ok()?;
        let (this_update, next_update) = crl_times(&body)?;
        let served = Arc::new(Served {
            modified,
            len: body.len() as u64,
            etag: format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..16])),
            body: Bytes::from(body),
            this_update,
            next_update,
        });
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(file.to_path_buf(), served.clone());
        Some(served)
    }

    fn lookup(&self, path: &str) -> Option<Arc<Served>> {
        let (ca, shard, kind) = self.route(path)?;
        self.load(&der_path(&self.dir, &ca, shard, kind))
    }
}

fn http_date(t: NaiveDateTime) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn not_modified(req: &HttpRequest, s: &Served) -> bool {
    let h = req.headers();
    if let Some(v) = h.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        return v.split(',').map(str::trim).any(|t| t == "*" || t == s.etag);
    }
    h.get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| NaiveDateTime::parse_from_str(v.trim(), "%a, %d %b %Y %H:%M:%S GMT").ok())
        .is_some_and(|since| since >= s.this_update)
}

async fn serve(req: HttpRequest, files: web::Data<CrlFiles>) -> HttpResponse {
    if req.method() != actix_web::http::Method::GET && req.method() != actix_web::http::Method::HEAD
    {
        return HttpResponse::NotFound().finish();
    }
    let path = req.uri().path().to_string();
    let f = files.clone();
    let found = web::block(move || f.lookup(&path)).await.ok().flatten();
    let Some(s) = found else {
        return HttpResponse::NotFound()
            .content_type("text/plain")
            .body("no such CRL\n");
    };
    let now = files.clock.now();
    let max_age = (s.next_update - now).num_seconds().max(0);
    let unchanged = not_modified(&req, &s);
    let mut b = if unchanged {
        HttpResponse::build(StatusCode::NOT_MODIFIED)
    } else {
        HttpResponse::Ok()
    };
    b.insert_header((
        header::CACHE_CONTROL,
        value(&format!(
            "max-age={max_age}, public, no-transform, must-revalidate"
        )),
    ))
    .insert_header((header::ETAG, value(&s.etag)))
    .insert_header((header::LAST_MODIFIED, value(&http_date(s.this_update))))
    .insert_header((header::EXPIRES, value(&http_date(s.next_update))));
    if unchanged {
        return b.finish();
    }
    b.content_type("application/pkix-crl").body(s.body.clone())
}

/// The CRL routes: every path not claimed by another route is looked up among the CAs'
/// CRL URLs.
pub fn routes(files: Arc<CrlFiles>) -> RouteFn {
    let data = web::Data::from(files);
    Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(data.clone()).default_service(web::to(serve));
    })
}
