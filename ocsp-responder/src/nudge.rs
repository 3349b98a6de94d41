//! Same-host wake-up: `hsmca serve` listens on a Unix socket in the data directory, and
//! `hsmca revoke` connects after its commit so that every local responder reads the store's
//! change feed at once instead of at its next poll. Nodes elsewhere still poll
//! (`ocsp.follow_interval_ms`). A nudge that finds nobody listening is not an error.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::Responder;

/// The socket of this process under `dir`.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join(format!("ocsp-{}.sock", std::process::id()))
}

/// Listens on `path` (replacing a leftover file) on a background thread: each connection
/// makes the responder follow the change feed, then gets `ok REVISION\n`.
pub fn listen(path: &Path, responder: Arc<Responder>) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    std::thread::Builder::new()
        .name("ocsp-nudge".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut line = String::new();
                let _ = BufReader::new(&conn).read_line(&mut line);
                let reply = match responder.follow() {
                    Ok(_) => format!("ok {}\n", responder.watermark()),
                    Err(e) => format!("error {e}\n"),
                };
                let _ = conn.write_all(reply.as_bytes());
            }
        })?;
    Ok(())
}

/// Nudges every responder socket (`ocsp-*.sock`) in `dir` and waits for each to answer.
/// Returns how many did; sockets nobody listens on are removed.
pub fn poke_all(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut answered = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !(name.starts_with("ocsp-") && name.ends_with(".sock")) {
            continue;
        }
        match poke(&e.path()) {
            Ok(true) => answered += 1,
            Ok(false) => {}
            Err(_) => {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    answered
}

fn poke(path: &Path) -> std::io::Result<bool> {
    let mut s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"follow\n")?;
    let mut line = String::new();
    BufReader::new(&s).read_line(&mut line)?;
    Ok(line.starts_with("ok"))
}
