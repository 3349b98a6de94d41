//! The one error type of this crate. PKCS#11 failures keep the function and return value.

use std::path::PathBuf;

/// A PKCS#11 return value class that callers may react to without seeing `cryptoki` types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RvClass {
    /// `CKR_PIN_INCORRECT`, `CKR_PIN_LEN_RANGE`, `CKR_PIN_INVALID`.
    WrongPin,
    /// `CKR_PIN_LOCKED`.
    PinLocked,
    /// The session or login is gone and can be rebuilt: `CKR_SESSION_HANDLE_INVALID`,
    /// `CKR_SESSION_CLOSED`, `CKR_USER_NOT_LOGGED_IN`, `CKR_OBJECT_HANDLE_INVALID`,
    /// `CKR_KEY_HANDLE_INVALID`.
    SessionLost,
    /// The device or token went away: `CKR_DEVICE_ERROR`, `CKR_DEVICE_REMOVED`,
    /// `CKR_TOKEN_NOT_PRESENT`, `CKR_TOKEN_NOT_RECOGNIZED`, `CKR_SLOT_ID_INVALID`, `CKR_GENERAL_ERROR`,
    /// `CKR_CRYPTOKI_NOT_INITIALIZED`; also [`Error::TokenUnreachable`].
    DeviceLost,
    /// `CKR_KEY_UNEXTRACTABLE`, `CKR_ATTRIBUTE_SENSITIVE`: the token refused to release key material.
    Refused,
    /// Anything else.
    Other,
}

/// Errors from the HSM backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The PKCS#11 module could not be loaded or initialised.
    #[error(
        "cannot load PKCS#11 module {path}: {reason}; install SoftHSM2 (Debian: apt-get install softhsm2) \
         or set hsm.module in the config to your HSM vendor's PKCS#11 library"
    )]
    ModuleLoad {
        /// Path that was tried.
        path: PathBuf,
        /// What the loader said.
        reason: String,
    },
    /// A PKCS#11 function returned an error.
    #[error("{function} failed with {rv} while {context}")]
    Pkcs11 {
        /// The PKCS#11 function (`C_Sign`, `C_Login`, …).
        function: String,
        /// The return value name (`CKR_PIN_INCORRECT`, …).
        rv: String,
        /// The class of the return value.
        class: RvClass,
        /// What hsmca was doing.
        context: String,
    },
    /// The PIN was refused by the token.
    #[error("wrong {role} PIN for token {token:?} ({rv})")]
    WrongPin {
        /// `SO` or `user`.
        role: &'static str,
        /// Token label.
        token: String,
        /// Return value name.
        rv: String,
    },
    /// No token with this label is present in the module.
    #[error("no token labelled {label:?} in {module}; present tokens: {present}")]
    TokenNotFound {
        /// Label asked for.
        label: String,
        /// Module path.
        module: String,
        /// Labels that are present, comma-separated.
        present: String,
    },
    /// The token's device went away and could not be reached again (for a network HSM: the
    /// server is down or unreachable). The next operation tries to reconnect.
    #[error("token {label:?} is unreachable: {reason}")]
    TokenUnreachable {
        /// Token label.
        label: String,
        /// What failed, and what reconnecting found.
        reason: String,
    },
    /// A token with this label already exists.
    #[error("a token labelled {0:?} already exists")]
    TokenExists(String),
    /// No uninitialised slot is left to create a token in.
    #[error("no free slot to initialise a new token in module {0}")]
    NoFreeSlot(String),
    /// No key with this label (or id) exists on the token.
    #[error("no key labelled {0:?} on the token")]
    KeyNotFound(String),
    /// The key label is already used on the token.
    #[error("key label {0:?} is already taken on the token")]
    KeyLabelTaken(String),
    /// A label or PIN is not acceptable.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was invalid.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The key cannot be used with this signature scheme.
    #[error("key {key:?} ({spec}) cannot sign with {scheme}")]
    SchemeMismatch {
        /// Key label.
        key: String,
        /// Key type.
        spec: String,
        /// Requested scheme.
        scheme: String,
    },
    /// The token answered with data this crate cannot interpret.
    #[error("unexpected data from the token: {0}")]
    Malformed(String),
    /// A PIN source (environment variable or file) could not be read.
    #[error("cannot read {what}: {reason}")]
    PinSource {
        /// Which source.
        what: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// The return-value class when this is a PKCS#11 error.
    pub fn class(&self) -> Option<RvClass> {
        match self {
            Error::Pkcs11 { class, .. } => Some(*class),
            Error::WrongPin { .. } => Some(RvClass::WrongPin),
            Error::TokenUnreachable { .. } => Some(RvClass::DeviceLost),
            _ => None,
        }
    }

    pub(crate) fn p11(err: cryptoki::error::Error, context: impl Into<String>) -> Self {
        use cryptoki::error::Error as E;
        match err {
            E::Pkcs11(rv, function) => Error::Pkcs11 {
                function: format!("C_{function:?}"),
                rv: rv_name(rv),
                class: classify(rv),
                context: context.into(),
            },
            other => Error::Pkcs11 {
                function: "cryptoki".into(),
                rv: other.to_string(),
                class: RvClass::Other,
                context: context.into(),
            },
        }
    }
}

/// `CKR_`-style name of a return value (`PinIncorrect` → `CKR_PIN_INCORRECT`).
pub(crate) fn rv_name(rv: cryptoki::error::RvError) -> String {
    let camel = format!("{rv:?}");
    let mut out = String::from("CKR_");
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

pub(crate) fn classify(rv: cryptoki::error::RvError) -> RvClass {
    use cryptoki::error::RvError as R;
    match rv {
        R::PinIncorrect | R::PinLenRange | R::PinInvalid => RvClass::WrongPin,
        R::PinLocked => RvClass::PinLocked,
        R::SessionHandleInvalid
        | R::SessionClosed
        | R::UserNotLoggedIn
        | R::ObjectHandleInvalid
        | R::KeyHandleInvalid => RvClass::SessionLost,
        R::DeviceError
        | R::DeviceRemoved
        | R::TokenNotPresent
        | R::TokenNotRecognized
        | R::SlotIdInvalid
        | R::GeneralError
        | R::CryptokiNotInitialized => RvClass::DeviceLost,
        R::KeyUnextractable | R::AttributeSensitive => RvClass::Refused,
        _ => RvClass::Other,
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
