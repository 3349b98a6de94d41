//! Publishing a file atomically: written to a temporary file in the same directory, synced,
//! then renamed over the old one (and the directory synced), so a reader sees the old CRL
//! or the new one, never part of one, whatever happens to the process meanwhile.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use base64ct::{Base64, Encoding};
use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// A temporary file next to `target` (same filesystem, so the rename is atomic).
pub fn temp_beside(target: &Path) -> Result<NamedTempFile> {
    let dir = target
        .parent()
        .ok_or_else(|| Error::Invalid(format!("{} has no directory", target.display())))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(format!("temporary file in {}", dir.display()), e))
}

/// How old a temporary file must be before [`sweep_stale_temps`] takes it for the leftover
/// of a publisher that died: no CRL takes nearly this long to write (a million entries
/// take about two seconds).
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes the temporary files ([`temp_beside`]) in `dir` last written more than
/// [`STALE_TEMP_AGE`] ago: what a publisher killed mid-write leaves behind. Returns how
/// many it removed. A younger one may be another process's CRL in the making and is left
/// alone. Failures are ignored: a leftover that stays costs disk space, nothing else.
pub fn sweep_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let is_temp = entry.file_name().to_string_lossy().starts_with(".tmp-");
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if is_temp && stale && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Syncs `tmp` and renames it to `target`, then syncs the directory.
pub fn commit(tmp: NamedTempFile, target: &Path) -> Result<()> {
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(format!("syncing {}", tmp.path().display()), e))?;
    tmp.persist(target)
        .map_err(|e| Error::io(format!("renaming into {}", target.display()), e.error))?;
    if let Some(dir) = target.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Writes the PEM form (`-----BEGIN X509 CRL-----`, 64-column base64, RFC 7468) of the DER
/// file `der` atomically to `target`, streaming (48-byte groups make whole lines).
pub fn publish_pem(der: &Path, target: &Path) -> Result<()> {
    let tmp = temp_beside(target)?;
    {
        let mut input = BufReader::with_capacity(
            1 << 20,
            File::open(der).map_err(|e| Error::io(format!("reading {}", der.display()), e))?,
        );
        let mut out = BufWriter::with_capacity(1 << 20, tmp.as_file());
        let w = |e| Error::io(format!("writing {}", target.display()), e);
        out.write_all(b"-----BEGIN X509 CRL-----\n").map_err(w)?;
        let mut chunk = vec![0u8; 48 * 1024];
        let mut line = [0u8; 64];
        loop {
            let n = read_full(&mut input, &mut chunk)
                .map_err(|e| Error::io(format!("reading {}", der.display()), e))?;
            if n == 0 {
                break;
            }
            for group in chunk[..n].chunks(48) {
                let text = Base64::encode(group, &mut line)
                    .map_err(|e| Error::Invalid(format!("base64: {e}")))?;
                out.write_all(text.as_bytes()).map_err(w)?;
                out.write_all(b"\n").map_err(w)?;
            }
            if n < chunk.len() {
                break;
            }
        }
        out.write_all(b"-----END X509 CRL-----\n").map_err(w)?;
        out.flush().map_err(w)?;
    }
    commit(tmp, target)
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_matches_the_der_crate_encoding() {
        let dir = tempfile::tempdir().unwrap();
        // (A CRL is never empty, so length 0 is not a case.)
        for len in [1usize, 47, 48, 49, 48 * 1024, 48 * 1024 + 5, 200_001] {
            let der: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let d = dir.path().join("x.crl");
            std::fs::write(&d, &der).unwrap();
            let p = dir.path().join("x.crl.pem");
            publish_pem(&d, &p).unwrap();
            let expected =
                der::pem::encode_string("X509 CRL", der::pem::LineEnding::LF, &der).unwrap();
            assert_eq!(std::fs::read_to_string(&p).unwrap(), expected, "{len}");
        }
    }
}
