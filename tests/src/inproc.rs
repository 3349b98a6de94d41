//! Opening an initialised data directory's token and store inside the test process, to
//! drive `ca-core` directly (fault injection, concurrency) against the real SoftHSM2 token
//! and database the `hsmca` binary uses.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use ca_core::issuer::Issuer;
use ca_core::signing::CaKey;
use ca_core::store::CaRecord;
use hsm_backend::{Module, Pin, SignatureScheme, Token, SOFTHSM2_MODULE};

/// Opens the token of `data_dir` (created by `hsmca init`) in this process. PKCS#11 state is
/// per process, so a test binary may open only one data directory this way.
pub fn open_token(data_dir: &Path) -> Arc<Token> {
    static CONF: OnceLock<std::path::PathBuf> = OnceLock::new();
    let conf = data_dir.join("softhsm2.conf");
    let first = CONF.get_or_init(|| {
        // Set once, before the module loads in this process.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        conf.clone()
    });
    assert_eq!(first, &conf, "one data directory per test process");
    let module = Module::load(Path::new(SOFTHSM2_MODULE)).expect("SoftHSM2 module");
    let pin = Pin::from_file(&data_dir.join("secrets").join("user.pin")).expect("user PIN");
    Token::open(module, "hsmca", pin).expect("open token")
}

/// The issuer of `ca`, signing with its key in `token`.
pub fn issuer(token: &Arc<Token>, ca: &CaRecord) -> Issuer {
    use der::Decode;
    let key = token.find_key(&ca.key_label).unwrap();
    let signer = token
        .signer(&key, SignatureScheme::parse(&ca.signature).unwrap())
        .unwrap();
    let cert = x509_cert::Certificate::from_der(&ca.certificate_der).unwrap();
    Issuer::new(&ca.name, &cert, CaKey::new(Arc::new(signer)).unwrap()).unwrap()
}
