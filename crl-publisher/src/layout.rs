//! Where CRLs live: on disk (`DIR/<ca>/<shard>.crl`, `…-delta.crl`, and `.pem` twins) and
//! on the web (the path of the URL a CA writes into its certificates).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ca_core::store::CaRecord;

/// Full or delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A complete CRL.
    Full,
    /// A delta CRL.
    Delta,
}

/// The DER file of a CA's shard CRL under `dir`.
pub fn der_path(dir: &Path, ca: &str, shard: i32, kind: Kind) -> PathBuf {
    let name = match kind {
        Kind::Full => format!("{shard}.crl"),
        Kind::Delta => format!("{shard}-delta.crl"),
    };
    dir.join(ca).join(name)
}

/// The PEM twin of a DER file.
pub fn pem_path(der: &Path) -> PathBuf {
    let mut p = der.as_os_str().to_owned();
    p.push(".pem");
    PathBuf::from(p)
}

/// The path part of an `http://host[:port]/path` URL (`/path`), without query.
pub fn url_path(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r)?;
    let path = &rest[rest.find('/')?..];
    Some(path.split(['?', '#']).next().unwrap_or(path).to_string())
}

/// URL path → (CA, shard, kind), for every CRL the CAs publish.
pub fn url_map(cas: &[CaRecord]) -> HashMap<String, (String, i32, Kind)> {
    let mut map = HashMap::new();
    for ca in cas {
        let p = &ca.publication;
        for shard in 0..i32::from(p.crl_shards.max(1)) {
            if let Some(path) = p.crl_url(shard).as_deref().and_then(url_path) {
                map.insert(path, (ca.name.clone(), shard, Kind::Full));
            }
            if let Some(path) = p.delta_crl_url(shard).as_deref().and_then(url_path) {
                map.insert(path, (ca.name.clone(), shard, Kind::Delta));
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths() {
        assert_eq!(
            url_path("http://127.0.0.1:8080/crl/issuing/3.crl").as_deref(),
            Some("/crl/issuing/3.crl")
        );
        assert_eq!(
            url_path("http://pki.example.com/r.crl?x=1").as_deref(),
            Some("/r.crl")
        );
        assert_eq!(url_path("http://pki.example.com"), None);
        assert_eq!(
            pem_path(Path::new("/d/issuing/0.crl")),
            PathBuf::from("/d/issuing/0.crl.pem")
        );
    }
}
