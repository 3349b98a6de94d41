//! One module per command group.

pub(crate) mod ca;
pub(crate) mod cert;
pub(crate) mod crl;
pub(crate) mod hsm;
pub(crate) mod init;
pub(crate) mod issue;
pub(crate) mod issue_batch;
pub(crate) mod profile;
pub(crate) mod reconcile;
pub(crate) mod revoke;
pub(crate) mod serve;
