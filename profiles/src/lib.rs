//! Certificate profiles: what goes into a certificate of each kind (TLS server, TLS client,
//! code signing, sub-CA, OCSP signing, time stamping), loaded from TOML and validated at
//! load time, with the offending field named. `ca-core` applies them; a profile alone
//! decides a certificate's extensions, never the request.
//!
//! The file format is documented field by field in `docs/profiles.md`.
#![forbid(unsafe_code)]

mod error;
mod model;
mod set;
mod validate;

pub use error::{Error, Result};
pub use model::{
    key_usage_mismatch, CsrAction, CsrExtensionRules, ExtensionName, KeyKindName, KeyRules,
    KeyUsageBit, Kind, Profile, Purpose, SanRules, SanType, SubCaRules, SubjectAttr, SubjectRules,
    ValidityRules,
};
pub use set::{parse, ProfileSet, BUILTIN};
pub use validate::{emitted_extensions, MAX_VALIDITY_DAYS};
