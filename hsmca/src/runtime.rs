//! Loading what issuance needs: CA records with their HSM signers, profiles, the blocklist.

use std::sync::Arc;

use ca_core::issuer::Issuer;
use ca_core::keycheck::Blocklist;
use ca_core::store::{CaRecord, CaStore};
use hsm_backend::Token;
use profiles::ProfileSet;

use crate::context::Env;
use crate::error::{CliError, CliResult};

/// The CA record, or a bad-input error naming the known CAs.
pub(crate) fn ca_record(store: &ca_store::Store, name: &str) -> CliResult<CaRecord> {
    match store.ca(name)? {
        Some(c) => Ok(c),
        None => {
            let known: Vec<_> = store.list_cas()?.into_iter().map(|c| c.name).collect();
            Err(CliError::input(format!(
                "no CA named {name:?} (known: {})",
                if known.is_empty() {
                    "none; run `hsmca init`".to_string()
                } else {
                    known.join(", ")
                }
            )))
        }
    }
}

/// The issuer of a CA, signing with its key in the token.
pub(crate) fn issuer(token: &Arc<Token>, ca: &CaRecord) -> CliResult<Issuer> {
    Ok(Issuer::open(token, ca)?)
}

/// Shipped profiles plus `issuance.profiles_dir`.
pub(crate) fn profiles(env: &Env) -> CliResult<ProfileSet> {
    let set = match &env.config.issuance.profiles_dir {
        Some(dir) => ProfileSet::with_dir(dir),
        None => ProfileSet::builtin(),
    };
    set.map_err(CliError::input)
}

/// The configured key blocklist (empty when none is configured).
pub(crate) fn blocklist(env: &Env) -> CliResult<Blocklist> {
    match &env.config.issuance.key_blocklist {
        Some(p) => Blocklist::load(p).map_err(CliError::from),
        None => Ok(Blocklist::empty()),
    }
}
