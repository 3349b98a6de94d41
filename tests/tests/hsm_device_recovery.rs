//! A network HSM goes away and comes back: the token recovers by itself.
//!
//! The "network HSM" is `p11-kit server` exposing a SoftHSM2 token over a Unix socket; this
//! process reaches it only through p11-kit's client module, as it would reach a Luna or an
//! nShield through the vendor's. Killing the server is the device going away; starting it
//! again on the same socket is the device coming back.
//!
//! This binary must not load the SoftHSM2 module itself (nor use `hsmca_tests::softhsm`'s
//! process-wide module): PKCS#11 state is per process, and the client module must be the only
//! one that `P11_KIT_SERVER_ADDRESS` and the token label refer to.

use std::fs::File;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use hsm_backend::{
    HsmSigner, KeySpec, Module, Pin, RvClass, SignatureScheme, Signer, Token, SOFTHSM2_MODULE,
};
use hsmca_tests::softhsm::write_softhsm_conf;

const P11_KIT_SERVER: &str = "/usr/libexec/p11-kit/p11-kit-server";
const P11_KIT_CLIENT: &str = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so";
const LABEL: &str = "net-hsm";

/// How long the server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one `sign` may take, success or failure: a dead device must not hang callers.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// What "promptly" means for the failure after the device went away.
const PROMPT: Duration = Duration::from_secs(3);

/// A `p11-kit server` child exposing the SoftHSM2 token labelled [`LABEL`]; killed on drop.
struct NetHsm {
    conf: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl NetHsm {
    fn new(dir: &Path, conf: PathBuf) -> NetHsm {
        NetHsm {
            conf,
            socket: dir.join("hsm.sock"),
            log: dir.join("p11-kit-server.log"),
            child: None,
        }
    }

    fn address(&self) -> String {
        format!("unix:path={}", self.socket.display())
    }

    /// Starts the server and waits (bounded) until it accepts connections on the socket.
    fn start(&mut self) {
        assert!(self.child.is_none(), "server already running");
        // The server removes a stale socket itself; removing it here makes "the socket
        // accepts connections" below mean the new server is listening.
        let _ = std::fs::remove_file(&self.socket);
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("server log");
        let child = Command::new(P11_KIT_SERVER)
            .arg("-f")
            // A safety net should this test process die without running `Drop` (SIGKILL):
            // the server exits after 60 s without connections or live children.
            .args(["-t", "60"])
            .args(["-p", SOFTHSM2_MODULE, "-n"])
            .arg(&self.socket)
            .arg(format!("pkcs11:token={LABEL}"))
            .env("SOFTHSM2_CONF", &self.conf)
            .env_remove("P11_KIT_SERVER_ADDRESS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            // Its own process group, so that `kill` below reaches the per-connection children.
            .process_group(0)
            .spawn()
            .expect("p11-kit server (p11-kit package, scripts/install-deps.sh)");
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                panic!("p11-kit server exited with {status}:\n{}", self.log_text());
            }
            // A connection (closed at once) proves `listen` ran, not only `bind`. The server
            // forks a `p11-kit-remote` for it, which exits when it reads end-of-file.
            if UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "p11-kit server did not listen on {} within {START_TIMEOUT:?}:\n{}",
                self.socket.display(),
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The HSM goes away: SIGKILL to the server and to every `p11-kit-remote` it forked.
    ///
    /// `p11-kit server` only accepts connections; each one is served by a `p11-kit-remote`
    /// child (fork + exec) that owns the client's socket. Killing the listener alone would
    /// leave an established client talking to its surviving child, so the whole process
    /// group (created by `process_group(0)` at spawn) is killed, which is what a crashed or
    /// unplugged network HSM looks like to the client: its connection breaks.
    ///
    /// Returns whether the process group was signalled. The killed `p11-kit-remote`s are
    /// orphans once the server is gone; PID 1 reaps them.
    fn kill(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let group = format!("-{}", child.id());
        let signalled = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let _ = child.kill();
        let _ = child.wait();
        signalled
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NetHsm {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `signer.sign(message)` on another thread and fails the test if it takes longer
/// than [`CALL_TIMEOUT`]; returns the result and how long it took.
fn sign_bounded(
    signer: &Arc<HsmSigner>,
    message: &'static [u8],
) -> (hsm_backend::Result<Vec<u8>>, Duration) {
    let (tx, rx) = mpsc::channel();
    let s = signer.clone();
    std::thread::spawn(move || {
        let start = Instant::now();
        let r = s.sign(message);
        let _ = tx.send((r, start.elapsed()));
    });
    rx.recv_timeout(CALL_TIMEOUT)
        .unwrap_or_else(|_| panic!("sign({message:?}) did not return within {CALL_TIMEOUT:?}"))
}

fn verify(signer: &HsmSigner, message: &[u8], sig: &[u8]) {
    ca_core::verify::verify_signature(
        SignatureScheme::EcdsaSha256,
        &signer.public_key().spki_der,
        message,
        sig,
    )
    .unwrap_or_else(|e| panic!("signature over {message:?} does not verify: {e}"));
}

#[test]
fn token_recovers_when_the_network_hsm_goes_away_and_comes_back() {
    for p in [P11_KIT_SERVER, P11_KIT_CLIENT, SOFTHSM2_MODULE] {
        assert!(
            Path::new(p).exists(),
            "{p} is missing: run scripts/install-deps.sh (softhsm2, p11-kit, p11-kit-modules)"
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let suffix = hsmca_tests::random_suffix();
    let so_pin = format!("so-{suffix}");
    let user_pin = format!("user-{suffix}");

    // 1. A SoftHSM2 token in a private directory. PINs on argv: a throwaway fixture of a
    //    third-party tool; hsmca itself never takes PINs from argv.
    let conf = write_softhsm_conf(dir.path());
    let out = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", LABEL])
        .args(["--so-pin", &so_pin, "--pin", &user_pin])
        .env("SOFTHSM2_CONF", &conf)
        .stdin(Stdio::null())
        .output()
        .expect("softhsm2-util (softhsm2 package)");
    assert!(
        out.status.success(),
        "softhsm2-util --init-token failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // 2. The network HSM serving it.
    let mut hsm = NetHsm::new(dir.path(), conf);
    hsm.start();

    // 3. This process reaches the token through p11-kit's client only. The address must be
    //    set before the client module is loaded and initialised; this binary has no other
    //    test, so nothing else reads the environment concurrently.
    std::env::set_var("P11_KIT_SERVER_ADDRESS", hsm.address());
    let module = Module::load(Path::new(P11_KIT_CLIENT)).expect("load p11-kit-client.so");
    let token = Token::open(module, LABEL, Pin::new(user_pin).unwrap()).expect("open token");
    let key = token
        .generate_key(KeySpec::EcP256, "k")
        .expect("generate key");
    let signer = Arc::new(
        token
            .signer(&key, SignatureScheme::EcdsaSha256)
            .expect("signer"),
    );
    let (sig, _) = sign_bounded(&signer, b"before");
    verify(
        &signer,
        b"before",
        &sig.expect("sign before the device goes away"),
    );
    let status = token.status().expect("status");
    assert!(status.logged_in);
    assert_eq!(status.recoveries, 0);

    // 4. The device goes away. What really happens (p11-kit 0.24, seen with pkcs11-spy):
    //    the cached key handle goes straight to C_SignInit, which fails with
    //    CKR_DEVICE_ERROR (p11-kit's code for a connection that broke under it). The token
    //    then rebuilds: closing its sessions and C_GetSlotList also give CKR_DEVICE_ERROR,
    //    so it re-initialises the module; p11-kit's client treats "no server" in
    //    C_Initialize as success with no slots, so the token is not found and `sign` fails
    //    with `Error::TokenUnreachable` (class DeviceLost) naming the C_SignInit failure.
    assert!(
        hsm.kill(),
        "could not SIGKILL the p11-kit server's process group"
    );
    let (res, took) = sign_bounded(&signer, b"while away");
    let err = res.expect_err("signing must fail while the HSM is away");
    assert!(took < PROMPT, "failure took {took:?}, more than {PROMPT:?}");
    assert_eq!(err.class(), Some(RvClass::DeviceLost), "{err}");
    assert!(
        matches!(err, hsm_backend::Error::TokenUnreachable { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("C_SignInit failed with CKR_DEVICE_"),
        "the error names the PKCS#11 failure: {text}"
    );

    //    Every further call while the device is away tries to reconnect once and fails
    //    just as promptly with the same class.
    let (res, took) = sign_bounded(&signer, b"still away");
    let err = res.expect_err("signing must fail while the HSM is still away");
    assert!(took < PROMPT, "failure took {took:?}, more than {PROMPT:?}");
    assert_eq!(err.class(), Some(RvClass::DeviceLost), "{err}");

    // 5. The device comes back on the same socket. p11-kit's client connects only in
    //    C_Initialize, and the last one ran while the server was away, so the module lists
    //    no slots. The next `sign`, and nothing else, finds the token not logged in, fails
    //    to find its slot, re-initialises the module (which reconnects), logs in again,
    //    finds the key again (object handles belong to the old generation) and signs.
    hsm.start();
    let (res, took) = sign_bounded(&signer, b"after");
    let sig = res.expect("signing works again once the HSM is back");
    eprintln!("first signature after the HSM came back took {took:?}");
    verify(&signer, b"after", &sig);
    let status = token.status().expect("status after recovery");
    assert!(status.logged_in);
    assert_eq!(status.recoveries, 1, "one successful rebuild: {status:?}");
    let (sig, _) = sign_bounded(&signer, b"later");
    verify(&signer, b"later", &sig.expect("signing keeps working"));
    assert_eq!(token.status().unwrap().recoveries, 1, "no further rebuild");
}
