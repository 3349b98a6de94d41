//! `hsmca init`: token, CA keys in the HSM, root and issuing CA certificates.
//!
//! Order matters for "bad input changes nothing": the ceremony file is read and validated,
//! the store is checked for existing CAs and the key labels are checked on the token before
//! any key is generated or anything is written.

use std::path::Path;
use std::sync::Arc;

use ca_core::ceremony::{
    create_root, create_subordinate, generated_key_record, record_generated_key, CaPlan,
    CeremonySpec, Stores,
};
use ca_core::clock::{Clock, SystemClock};
use ca_core::signing::CaKey;
use ca_core::store::CaStore;
use hsm_backend::{Error as HsmError, Module, Pin, Token};

use crate::cli::InitArgs;
use crate::context::Env;
use crate::datadir::{resolve_pin, PinSource};
use crate::error::{CliError, CliResult};
use crate::output::pem_certificate;

/// The ceremony shipped with hsmca, used when `--ceremony` is not given.
pub(crate) const DEFAULT_CEREMONY: &str = include_str!("../../../ceremony/default.toml");

const ACTOR: &str = "crypto-officer:cli";

pub(crate) fn run(env: &Env, args: &InitArgs) -> CliResult {
    let text = match &args.ceremony {
        Some(p) => std::fs::read_to_string(p).map_err(|e| {
            CliError::input(format!("cannot read ceremony file {}: {e}", p.display()))
        })?,
        None => DEFAULT_CEREMONY.to_string(),
    };
    let plan = CeremonySpec::from_toml(&text)
        .and_then(|s| s.plan())
        .map_err(|e| CliError::input(format!("invalid ceremony file: {e}")))?;

    let store = env.open_store()?;
    let existing = store.list_cas()?;
    if !existing.is_empty() {
        let names: Vec<_> = existing.iter().map(|c| c.name.as_str()).collect();
        return Err(CliError::input(format!(
            "{} is already initialised (CAs: {}); refusing to run the ceremony again",
            env.data.root().display(),
            names.join(", ")
        )));
    }

    let token = prepare_token(env)?;
    for label in [&plan.root.key_label, &plan.issuing.key_label] {
        match token.find_key(label) {
            Err(HsmError::KeyNotFound(_)) => {}
            Ok(_) => return Err(HsmError::KeyLabelTaken(label.clone()).into()),
            Err(e) => return Err(e.into()),
        }
    }

    let clock = SystemClock;
    let stores = Stores {
        cas: &store,
        certs: &store,
        audit: &store,
    };
    let root_key = generate(&token, &plan.root, &stores, clock.now())?;
    let (root, root_issuer) = create_root(&plan.root, root_key, &stores, ACTOR, clock.now())?;
    let issuing_key = generate(&token, &plan.issuing, &stores, clock.now())?;
    let (issuing, _) = create_subordinate(
        &plan.issuing,
        &root_issuer,
        issuing_key,
        &stores,
        ACTOR,
        clock.now(),
    )?;
    eprintln!(
        "hsmca: created CA {:?} and CA {:?} in {} (token {:?})",
        root.name,
        issuing.name,
        env.data.root().display(),
        token.label()
    );
    print!(
        "{}{}",
        pem_certificate(&issuing.certificate_der)?,
        pem_certificate(&root.certificate_der)?
    );
    Ok(())
}

/// Loads the module and opens the token, creating it (Security Officer step) when missing.
fn prepare_token(env: &Env) -> CliResult<Arc<Token>> {
    let hsm = &env.config.hsm;
    if hsm.embedded_softhsm {
        env.data.create()?;
        env.data.ensure_softhsm()?;
    }
    let module = Module::load(&hsm.module)?;
    let exists = module.tokens()?.iter().any(|t| t.label == hsm.token_label);
    let user = pin_or_generate(
        env,
        "HSMCA_USER_PIN",
        hsm.user_pin_file.as_deref(),
        "user.pin",
        !exists,
    )?;
    if !exists {
        let so = pin_or_generate(
            env,
            "HSMCA_SO_PIN",
            hsm.so_pin_file.as_deref(),
            "so.pin",
            true,
        )?;
        module.init_token(&hsm.token_label, &so, &user)?;
        eprintln!(
            "hsmca: created token {:?} in {}",
            hsm.token_label,
            module.path().display()
        );
    }
    Ok(Token::open(module, &hsm.token_label, user)?)
}

fn pin_or_generate(
    env: &Env,
    var: &str,
    file: Option<&Path>,
    secret: &str,
    may_generate: bool,
) -> CliResult<Pin> {
    match resolve_pin(var, file, &env.data, secret)? {
        PinSource::Found(p) => Ok(p),
        PinSource::Missing if may_generate && env.config.hsm.embedded_softhsm => {
            let pin = Pin::generate(24)?;
            let path = env.data.write_secret(secret, &pin)?;
            eprintln!("hsmca: generated {} (mode 0600)", path.display());
            Ok(pin)
        }
        PinSource::Missing => Err(CliError::input(format!(
            "no PIN: set {var} or the matching *_pin_file in the config"
        ))),
    }
}

/// Generates a CA key in the HSM, records and audits it, and wraps it as a CA signer.
fn generate(
    token: &Arc<Token>,
    plan: &CaPlan,
    stores: &Stores<'_>,
    now: chrono::NaiveDateTime,
) -> CliResult<CaKey> {
    let key = token.generate_key(plan.key, &plan.key_label)?;
    let public = token.public_key(&key)?;
    record_generated_key(
        stores,
        &generated_key_record(token.label(), &key, &public, now),
        ACTOR,
    )?;
    let signer = token.signer(&key, plan.scheme)?;
    Ok(CaKey::new(Arc::new(signer))?)
}
