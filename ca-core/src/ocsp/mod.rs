//! OCSP (RFC 6960): the message types, and building signed responses through the CA's
//! HSM signer. The HTTP responder that serves them is its own crate.

pub mod asn1;
pub mod response;
pub mod status;
