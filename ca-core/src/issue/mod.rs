//! End-entity and sub-CA issuance: requests, profile application and profile lints. The
//! record-before-sign pipeline itself is [`crate::issuer`].

pub mod flow;
pub mod lints;
pub mod pipeline;
pub mod san;
pub mod subject;
pub mod template;

pub use flow::{key_policy, Issuance, IssuedFromCsr, Overrides};
pub use san::San;
pub use template::{plan, IssueRequest, KeyFacts, Planned};
