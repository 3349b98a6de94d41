//! A SoftHSM2 token directory private to this test process.
//!
//! PKCS#11 state is per process, so every test binary gets its own `SOFTHSM2_CONF` and
//! token directory, created on first use; each test then creates its own token in it, so
//! tests in one binary run in parallel without sharing keys.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use hsm_backend::{Module, Pin, Token, SOFTHSM2_MODULE};

struct ProcessHsm {
    _dir: tempfile::TempDir,
    module: Arc<Module>,
}

fn process_hsm() -> &'static ProcessHsm {
    static HSM: OnceLock<ProcessHsm> = OnceLock::new();
    HSM.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = write_softhsm_conf(dir.path());
        // SoftHSM2 reads this at C_Initialize; it is set once, before the module loads.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        let module = Module::load(Path::new(SOFTHSM2_MODULE))
            .expect("SoftHSM2 module (installed by scripts/install-deps.sh)");
        ProcessHsm { _dir: dir, module }
    })
}

/// Writes a SoftHSM2 config with its token directory under `dir`; returns the config path.
pub fn write_softhsm_conf(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).expect("token dir");
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("softhsm2.conf");
    conf
}

/// The SoftHSM2 module of this test process.
pub fn module() -> Arc<Module> {
    process_hsm().module.clone()
}

/// A token created for one test.
pub struct TestToken {
    /// Logged in as Crypto User.
    pub token: Arc<Token>,
    /// Its label.
    pub label: String,
    /// SO PIN.
    pub so_pin: Pin,
    /// User PIN.
    pub user_pin: Pin,
}

/// Creates a fresh token labelled `<prefix>-<random>` and logs in as Crypto User.
pub fn fresh_token(prefix: &str) -> TestToken {
    let module = module();
    let label = format!("{prefix}-{}", crate::random_suffix());
    let so_pin = Pin::new(format!("so-{}", crate::random_suffix())).unwrap();
    let user_pin = Pin::new(format!("user-{}", crate::random_suffix())).unwrap();
    module
        .init_token(&label, &so_pin, &user_pin)
        .expect("init token");
    let token = Token::open(module, &label, user_pin.clone()).expect("open token");
    TestToken {
        token,
        label,
        so_pin,
        user_pin,
    }
}
