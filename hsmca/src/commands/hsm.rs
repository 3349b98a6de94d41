//! `hsmca hsm status` and `hsmca hsm keys`.

use crate::cli::HsmCommand;
use crate::context::Env;
use crate::error::CliResult;
use crate::output::print_json;

pub(crate) fn run(env: &Env, cmd: &HsmCommand) -> CliResult {
    let token = env.open_token()?;
    match cmd {
        HsmCommand::Status(f) => {
            let s = token.status()?;
            let keys = token.list_keys()?;
            let key_pairs = keys.iter().filter(|k| k.class == "private").count();
            let secret = keys.iter().filter(|k| k.class == "secret").count();
            if f.json {
                return print_json(&serde_json::json!({
                    "module": s.module,
                    "library": s.library,
                    "token": s.label,
                    "manufacturer": s.manufacturer,
                    "model": s.model,
                    "serial": s.serial,
                    "logged_in": s.logged_in,
                    "role": if s.logged_in { Some("crypto-user") } else { None },
                    "key_pairs": key_pairs,
                    "secret_keys": secret,
                }));
            }
            println!("module:     {}", s.module);
            println!("library:    {}", s.library);
            println!(
                "token:      {} ({} {}, serial {})",
                s.label, s.manufacturer, s.model, s.serial
            );
            println!(
                "login:      {}",
                if s.logged_in {
                    "logged in as crypto user"
                } else {
                    "not logged in"
                }
            );
            println!("keys:       {key_pairs} key pairs, {secret} secret keys");
            Ok(())
        }
        HsmCommand::Keys(f) => {
            let keys = token.list_keys()?;
            if f.json {
                let v: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        serde_json::json!({
                            "label": k.label,
                            "id": hex::encode(&k.id),
                            "class": k.class,
                            "type": k.spec.map(|s| s.name()),
                            "sensitive": k.sensitive,
                            "extractable": k.extractable,
                        })
                    })
                    .collect();
                return print_json(&serde_json::Value::Array(v));
            }
            for k in &keys {
                let flags = match (k.sensitive, k.extractable) {
                    (Some(s), Some(x)) => format!("sensitive={s} extractable={x}"),
                    _ => String::new(),
                };
                println!(
                    "{:<24} {:<8} {:<9} id={} {}",
                    k.label,
                    k.class,
                    k.spec.map(|s| s.name()).unwrap_or("other"),
                    hex::encode(&k.id),
                    flags
                );
            }
            Ok(())
        }
    }
}
