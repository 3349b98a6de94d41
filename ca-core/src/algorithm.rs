//! Signature AlgorithmIdentifiers for the HSM's schemes.
//!
//! ```text
//! AlgorithmIdentifier  ::=  SEQUENCE  {
//!      algorithm               OBJECT IDENTIFIER,
//!      parameters              ANY DEFINED BY algorithm OPTIONAL  }
//! ```
//! RSA PKCS#1 v1.5: parameters NULL (RFC 4055 §5). RSASSA-PSS: RSASSA-PSS-params
//! (RFC 4055 §3.1). ECDSA: parameters absent (RFC 5758 §3.2). Ed25519: absent (RFC 8410 §3).

use const_oid::db::{rfc5912, rfc8410};
use der::asn1::Null;
use hsm_backend::SignatureScheme;
use sha2::{Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierOwned;

use crate::error::{Error, Result};

/// The `signatureAlgorithm` for certificates and CRLs signed with `scheme`.
pub fn algorithm_identifier(scheme: SignatureScheme) -> Result<AlgorithmIdentifierOwned> {
    use SignatureScheme as S;
    let pkcs1 = |oid| AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Null.into()),
    };
    let bare = |oid| AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    };
    let pss_err = |e: spki::Error| Error::Encoding(format!("RSASSA-PSS parameters: {e}"));
    Ok(match scheme {
        S::RsaPkcs1Sha256 => pkcs1(rfc5912::SHA_256_WITH_RSA_ENCRYPTION),
        S::RsaPkcs1Sha384 => pkcs1(rfc5912::SHA_384_WITH_RSA_ENCRYPTION),
        S::RsaPkcs1Sha512 => pkcs1(rfc5912::SHA_512_WITH_RSA_ENCRYPTION),
        S::RsaPssSha256 => {
            rsa::pss::get_default_pss_signature_algo_id::<Sha256>().map_err(pss_err)?
        }
        S::RsaPssSha384 => {
            rsa::pss::get_default_pss_signature_algo_id::<Sha384>().map_err(pss_err)?
        }
        S::RsaPssSha512 => {
            rsa::pss::get_default_pss_signature_algo_id::<Sha512>().map_err(pss_err)?
        }
        S::EcdsaSha256 => bare(rfc5912::ECDSA_WITH_SHA_256),
        S::EcdsaSha384 => bare(rfc5912::ECDSA_WITH_SHA_384),
        S::Ed25519 => bare(rfc8410::ID_ED_25519),
        other => {
            return Err(Error::invalid(
                "signature scheme",
                format!("{other} has no certificate algorithm identifier"),
            ))
        }
    })
}
