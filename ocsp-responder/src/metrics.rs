//! Counters for `/metrics` (Prometheus text exposition format 0.0.4).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters updated on the request path (relaxed atomics: cheap, eventually consistent).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests by method: GET, POST.
    pub requests_get: AtomicU64,
    /// POST requests.
    pub requests_post: AtomicU64,
    /// Answered from memory without signing.
    pub cache_hits: AtomicU64,
    /// Needed a signature (miss, nonce echo, several certificates, SHA-256 CertID).
    pub signed_on_demand: AtomicU64,
    /// Responses signed ahead by the refresher.
    pub presigned: AtomicU64,
    /// `malformedRequest` answers.
    pub malformed: AtomicU64,
    /// `unauthorized` answers.
    pub unauthorized: AtomicU64,
    /// `internalError` answers.
    pub internal_errors: AtomicU64,
    /// `tryLater` answers (too many signatures waiting).
    pub try_later: AtomicU64,
    /// HTTP 413 answers.
    pub too_large: AtomicU64,
    /// HTTP 304 answers.
    pub not_modified: AtomicU64,
    /// Store change-feed rows applied to memory.
    pub changes_applied: AtomicU64,
    /// Refresher or follower runs that failed (store or HSM unavailable).
    pub background_failures: AtomicU64,
}

/// Adds one.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    /// Renders the counters, plus the gauges given (name, help, value).
    pub fn render(&self, gauges: &[(&str, &str, u64)]) -> String {
        let mut out = String::new();
        let counters: [(&str, &str, &AtomicU64); 13] = [
            (
                "hsmca_ocsp_requests_total{method=\"GET\"}",
                "OCSP requests",
                &self.requests_get,
            ),
            (
                "hsmca_ocsp_requests_total{method=\"POST\"}",
                "",
                &self.requests_post,
            ),
            (
                "hsmca_ocsp_cache_hits_total",
                "Answers served from memory",
                &self.cache_hits,
            ),
            (
                "hsmca_ocsp_signed_on_demand_total",
                "Responses signed while the client waited",
                &self.signed_on_demand,
            ),
            (
                "hsmca_ocsp_presigned_total",
                "Responses signed ahead by the refresher",
                &self.presigned,
            ),
            (
                "hsmca_ocsp_errors_total{status=\"malformedRequest\"}",
                "Unsuccessful OCSP answers",
                &self.malformed,
            ),
            (
                "hsmca_ocsp_errors_total{status=\"unauthorized\"}",
                "",
                &self.unauthorized,
            ),
            (
                "hsmca_ocsp_errors_total{status=\"internalError\"}",
                "",
                &self.internal_errors,
            ),
            (
                "hsmca_ocsp_errors_total{status=\"tryLater\"}",
                "",
                &self.try_later,
            ),
            (
                "hsmca_http_responses_total{code=\"413\"}",
                "HTTP answers other than 200",
                &self.too_large,
            ),
            (
                "hsmca_http_responses_total{code=\"304\"}",
                "",
                &self.not_modified,
            ),
            (
                "hsmca_ocsp_changes_applied_total",
                "Store change-feed rows applied to memory",
                &self.changes_applied,
            ),
            (
                "hsmca_ocsp_background_failures_total",
                "Refresher or follower runs that failed",
                &self.background_failures,
            ),
        ];
        let mut last_family = "";
        for (name, help, c) in counters {
            let family = name.split('{').next().unwrap_or(name);
            if family != last_family {
                if !help.is_empty() {
                    let _ = writeln!(out, "# HELP {family} {help}");
                }
                let _ = writeln!(out, "# TYPE {family} counter");
                last_family = family;
            }
            let _ = writeln!(out, "{name} {}", c.load(Ordering::Relaxed));
        }
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}
