//! Certificate profiles: what goes into a certificate of each kind (TLS server, TLS client,
//! code signing, sub-CA, OCSP signing, time stamping), loaded from TOML and validated.
//!
//! The issuance pipeline that consumes profiles arrives with the issuance work; until then
//! the CA certificates of the key ceremony are described by `ca_core::ceremony`.
#![forbid(unsafe_code)]
