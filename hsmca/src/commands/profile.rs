//! `hsmca profile list`.

use crate::cli::ProfileCommand;
use crate::context::Env;
use crate::error::CliResult;
use crate::output::print_json;
use crate::runtime;

pub(crate) fn run(env: &Env, cmd: &ProfileCommand) -> CliResult {
    let ProfileCommand::List(f) = cmd;
    let set = runtime::profiles(env)?;
    if f.json {
        return print_json(&serde_json::Value::Array(
            set.iter()
                .map(|p| {
                    serde_json::json!({
                        "name": p.name,
                        "description": p.description,
                        "max_days": p.validity.max_days,
                        "default_days": p.validity.default_days,
                    })
                })
                .collect(),
        ));
    }
    for p in set.iter() {
        println!(
            "{:<16} max {:>5} days  {}",
            p.name, p.validity.max_days, p.description
        );
    }
    Ok(())
}
