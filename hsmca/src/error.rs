//! CLI errors and their exit statuses: 2 for bad usage or bad input, 1 for operational
//! failures (HSM, database). The reason is printed as one line on stderr.

use std::fmt;

/// A failed command.
#[derive(Debug)]
pub(crate) enum CliError {
    /// Bad usage or bad input: exit status 2.
    Input(String),
    /// HSM, database or I/O failure: exit status 1.
    Operational(String),
}

impl CliError {
    pub(crate) fn input(msg: impl fmt::Display) -> Self {
        CliError::Input(msg.to_string())
    }

    pub(crate) fn op(msg: impl fmt::Display) -> Self {
        CliError::Operational(msg.to_string())
    }

    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Input(_) => 2,
            CliError::Operational(_) => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = match self {
            CliError::Input(m) | CliError::Operational(m) => m,
        };
        // One line, always.
        f.write_str(&msg.replace('\n', " "))
    }
}

impl From<ca_core::Error> for CliError {
    fn from(e: ca_core::Error) -> Self {
        if e.is_bad_input() {
            CliError::Input(e.to_string())
        } else {
            CliError::Operational(e.to_string())
        }
    }
}

impl From<hsm_backend::Error> for CliError {
    fn from(e: hsm_backend::Error) -> Self {
        use hsm_backend::Error as E;
        match e {
            E::WrongPin { .. }
            | E::TokenNotFound { .. }
            | E::KeyLabelTaken(_)
            | E::KeyNotFound(_)
            | E::TokenExists(_)
            | E::Invalid { .. }
            | E::SchemeMismatch { .. }
            | E::PinSource { .. } => CliError::Input(e.to_string()),
            other => CliError::Operational(other.to_string()),
        }
    }
}

impl From<ca_core::store::StoreError> for CliError {
    fn from(e: ca_core::store::StoreError) -> Self {
        CliError::Operational(e.to_string())
    }
}

impl From<crl_publisher::Error> for CliError {
    fn from(e: crl_publisher::Error) -> Self {
        use crl_publisher::Error as E;
        match e {
            E::Core(c) => c.into(),
            E::Hsm(h) => h.into(),
            E::Invalid(s) => CliError::Input(s),
            other => CliError::Operational(other.to_string()),
        }
    }
}

impl From<ocsp_responder::Error> for CliError {
    fn from(e: ocsp_responder::Error) -> Self {
        use ocsp_responder::Error as E;
        match e {
            E::Core(c) => c.into(),
            E::Hsm(h) => h.into(),
            E::Setup(s) => CliError::Input(s),
            other => CliError::Operational(other.to_string()),
        }
    }
}

pub(crate) type CliResult<T = ()> = Result<T, CliError>;
