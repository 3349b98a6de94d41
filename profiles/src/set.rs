//! Loading profiles: the shipped set, and a directory of TOML files that adds to or
//! replaces shipped profiles by name.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::model::Profile;
use crate::validate::validate;

/// The profiles shipped with hsmca (`profiles/*.toml` in the source tree).
pub const BUILTIN: [(&str, &str); 6] = [
    ("tls-server", include_str!("../tls-server.toml")),
    ("tls-client", include_str!("../tls-client.toml")),
    ("code-signing", include_str!("../code-signing.toml")),
    ("sub-ca", include_str!("../sub-ca.toml")),
    ("ocsp-signing", include_str!("../ocsp-signing.toml")),
    ("time-stamping", include_str!("../time-stamping.toml")),
];

/// Parses and validates one profile's TOML text; `origin` names it in errors.
pub fn parse(origin: &str, text: &str) -> Result<Profile> {
    let p: Profile = toml::from_str(text).map_err(|e| Error::Parse {
        profile: origin.to_string(),
        reason: e.to_string().trim().replace('\n', " "),
    })?;
    validate(&p)?;
    Ok(p)
}

/// A set of profiles by name.
#[derive(Debug, Clone, Default)]
pub struct ProfileSet {
    by_name: BTreeMap<String, Profile>,
}

impl ProfileSet {
    /// The shipped profiles.
    pub fn builtin() -> Result<Self> {
        let mut set = ProfileSet::default();
        for (file, text) in BUILTIN {
            let p = parse(&format!("{file}.toml (built in)"), text)?;
            if set.by_name.insert(p.name.clone(), p).is_some() {
                return Err(Error::Duplicate(file.to_string()));
            }
        }
        Ok(set)
    }

    /// The shipped profiles plus every `*.toml` in `dir`; a file whose profile has a shipped
    /// name replaces that profile. Two files with the same profile name are refused.
    pub fn with_dir(dir: &Path) -> Result<Self> {
        let mut set = Self::builtin()?;
        let read_err = |reason: String| Error::Read {
            path: dir.display().to_string(),
            reason,
        };
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| read_err(e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        entries.sort();
        let mut from_dir = std::collections::HashSet::new();
        for path in entries {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let p = parse(&path.display().to_string(), &text)?;
            if !from_dir.insert(p.name.clone()) {
                return Err(Error::Duplicate(p.name));
            }
            set.by_name.insert(p.name.clone(), p);
        }
        Ok(set)
    }

    /// The profile with this name.
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.by_name.get(name)
    }

    /// All profiles, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.by_name.values()
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }
}
