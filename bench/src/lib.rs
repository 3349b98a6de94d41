//! Shared pieces of the benchmarks: timing loops over threads.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

/// Runs `op` on `threads` threads for `dur`; returns operations per second over all threads.
pub fn rate<F>(threads: usize, dur: Duration, op: F) -> f64
where
    F: Fn() + Sync,
{
    let start = Instant::now();
    let total = count(threads, dur, op);
    total as f64 / start.elapsed().as_secs_f64()
}

/// Runs `op` on `threads` threads for `dur`; returns how many times it ran, over all threads.
pub fn count<F>(threads: usize, dur: Duration, op: F) -> u64
where
    F: Fn() + Sync,
{
    let start = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while start.elapsed() < dur {
                        op();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).sum()
    })
}

/// `--name value` options of the small benchmark binaries (no parser crate: the bench crate
/// keeps its dependencies to the workspace's own).
#[derive(Debug, Clone)]
pub struct Opts {
    usage: &'static str,
    pairs: Vec<(String, String)>,
}

impl Opts {
    /// Reads `--name value` pairs from the command line; prints `usage` and exits with
    /// status 2 on anything else (and on `--help`).
    pub fn from_args(usage: &'static str) -> Opts {
        let mut pairs = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match (a.strip_prefix("--"), args.next()) {
                (Some(name), Some(v)) if name != "help" => pairs.push((name.to_string(), v)),
                _ => {
                    eprintln!("usage: {usage}");
                    std::process::exit(2);
                }
            }
        }
        Opts { usage, pairs }
    }

    /// The value of `--name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `--name`; exits with the usage if it is missing.
    pub fn required(&self, name: &str) -> &str {
        self.get(name).unwrap_or_else(|| {
            eprintln!("--{name} is required\nusage: {}", self.usage);
            std::process::exit(2);
        })
    }

    /// `--name` parsed, or `default`; exits with the usage if it does not parse.
    pub fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        match self.get(name) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| {
                eprintln!("--{name} {v:?} is not a number\nusage: {}", self.usage);
                std::process::exit(2);
            }),
        }
    }
}

/// Standard base64 (RFC 4648 §4) with padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The GET path segment of an OCSP request (RFC 6960 Appendix A.1): the base64 of its DER,
/// URL-encoded (`+`, `/` and `=` percent-encoded, as browsers send it).
pub fn ocsp_get_segment(der: &[u8]) -> String {
    base64(der)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
        assert_eq!(ocsp_get_segment(&[0xfb, 0xff]), "%2B%2F8%3D");
    }
}
