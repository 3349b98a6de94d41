//! One module per command group.

pub(crate) mod ca;
pub(crate) mod hsm;
pub(crate) mod init;
