//! Opening an initialised data directory's token and store inside the test process, to
//! drive `ca-core` directly (fault injection, concurrency) against the real SoftHSM2 token
//! and database the `hsmca` binary uses.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use ca_core::issuer::Issuer;
use ca_core::signing::CaKey;
use ca_core::store::CaRecord;
use hsm_backend::{Module, Pin, Token, SOFTHSM2_MODULE};

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
    Issuer::open(token, ca).expect("the CA's issuer")
}

/// A root and an issuing CA made in-process by the ceremony functions, with keys generated
/// in `token` and everything recorded in `store`.
pub struct InProcessPki {
    /// The root CA's issuer.
    pub root: Issuer,
    /// The issuing CA's issuer.
    pub issuing: Issuer,
    /// The issuing CA's record.
    pub issuing_ca: CaRecord,
    /// The issuing CA's signing key (for raw signing-rate comparisons).
    pub issuing_key: CaKey,
}

/// Runs the ceremony `ceremony_toml` against `token` and `store`; key labels get `prefix`
/// so several ceremonies can share one token.
pub fn ceremony(
    token: &Arc<Token>,
    store: &ca_store::Store,
    ceremony_toml: &str,
    prefix: &str,
) -> InProcessPki {
    use ca_core::ceremony::{
        create_root, create_subordinate, record_generated_key, CaPlan, CeremonySpec, Stores,
    };
    use ca_core::clock::{Clock, SystemClock};
    use ca_core::store::{CaStore, KeyRecord};
    let plan = CeremonySpec::from_toml(ceremony_toml)
        .and_then(|s| s.plan())
        .expect("valid ceremony");
    let stores = Stores {
        cas: store,
        certs: store,
        audit: store,
    };
    let key = |p: &CaPlan| {
        let label = format!("{prefix}-{}", p.key_label);
        let k = token.generate_key(p.key, &label).unwrap();
        let record = KeyRecord {
            label: k.label.clone(),
            token_label: token.label().to_string(),
            key_id: k.id.clone(),
            algorithm: k.spec.to_string(),
            public_key_der: token.public_key(&k).unwrap().spki_der,
            created_at: SystemClock.now(),
        };
        record_generated_key(&stores, &record, "test").unwrap();
        CaKey::new(Arc::new(token.signer(&k, p.scheme).unwrap())).unwrap()
    };
    let mut root_plan = plan.root.clone();
    root_plan.key_label = format!("{prefix}-{}", plan.root.key_label);
    let mut issuing_plan = plan.issuing.clone();
    issuing_plan.key_label = format!("{prefix}-{}", plan.issuing.key_label);
    let now = SystemClock.now();
    let root_key = key(&plan.root);
    let issuing_key = key(&plan.issuing);
    let (_, root) = create_root(&root_plan, root_key, &stores, "test", now).unwrap();
    let (_, issuing) = create_subordinate(
        &issuing_plan,
        &root,
        issuing_key.clone(),
        &stores,
        "test",
        now,
    )
    .unwrap();
    let issuing_ca = store.ca(&issuing_plan.name).unwrap().unwrap();
    InProcessPki {
        root,
        issuing,
        issuing_ca,
        issuing_key,
    }
}
