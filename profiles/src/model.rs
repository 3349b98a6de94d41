//! The profile file format. Every field is documented in `docs/profiles.md`.

use serde::Deserialize;

/// One certificate profile, as written in TOML.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Name used with `hsmca issue --profile`: 1–64 of `a–z 0–9 -`.
    pub name: String,
    /// One line for humans.
    #[serde(default)]
    pub description: String,
    /// `end-entity` or `sub-ca`.
    pub kind: Kind,
    /// Validity rules.
    pub validity: ValidityRules,
    /// Which subject keys are accepted.
    pub keys: KeyRules,
    /// keyUsage bits, critical. `keyEncipherment` is set only for RSA subject keys.
    pub key_usage: Vec<KeyUsageBit>,
    /// extendedKeyUsage purposes; empty means no extension.
    #[serde(default)]
    pub extended_key_usage: Vec<Purpose>,
    /// Mark extendedKeyUsage critical (RFC 3161 §2.3 requires it for time stamping).
    #[serde(default)]
    pub extended_key_usage_critical: bool,
    /// certificatePolicies OIDs, dotted (`2.23.140.1.2.1`).
    #[serde(default)]
    pub certificate_policies: Vec<String>,
    /// Put the issuing CA's CRL distribution point (for the certificate's shard) in.
    #[serde(default = "yes")]
    pub crl_distribution_point: bool,
    /// Put the issuing CA's delta CRL URL (for the certificate's shard) in, as freshestCRL
    /// (RFC 5280 §4.2.1.15). The issuing CA must publish delta CRLs (`delta_crl` in its
    /// `[urls]`). Default false.
    #[serde(default)]
    pub freshest_crl: bool,
    /// Put the issuing CA's OCSP and caIssuers URLs in (authorityInfoAccess).
    #[serde(default = "yes")]
    pub authority_info_access: bool,
    /// Add subjectKeyIdentifier (RFC 5280 §4.2.1.2; BR §7.1.2.7.6 makes it NOT RECOMMENDED
    /// for TLS subscriber certificates). Always added for sub-CAs.
    #[serde(default = "yes")]
    pub subject_key_identifier: bool,
    /// Add id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1), for delegated OCSP signers.
    #[serde(default)]
    pub ocsp_no_check: bool,
    /// Subject name rules.
    pub subject: SubjectRules,
    /// subjectAltName rules.
    pub san: SanRules,
    /// What to do with extensions a CSR asks for (they are never copied).
    #[serde(default)]
    pub csr_extensions: CsrExtensionRules,
    /// Extensions every certificate of this profile must carry (checked by lint).
    #[serde(default)]
    pub required_extensions: Vec<ExtensionName>,
    /// Extensions no certificate of this profile may carry (checked by lint).
    #[serde(default)]
    pub forbidden_extensions: Vec<ExtensionName>,
    /// Sub-CA settings; required when `kind = "sub-ca"`, refused otherwise.
    pub ca: Option<SubCaRules>,
}

fn yes() -> bool {
    true
}

/// End entity or subordinate CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A leaf certificate (basicConstraints absent).
    EndEntity,
    /// A subordinate CA (basicConstraints cA, critical).
    SubCa,
}

/// `[validity]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidityRules {
    /// Longest validity in days (notAfter − notBefore + 1 second counts as a day, RFC 5280
    /// §4.1.2.5 includes both ends), 1 to 36500.
    pub max_days: u32,
    /// Validity when the request names none, 1 to `max_days`.
    pub default_days: u32,
    /// Seconds notBefore is set before the time of issuance (clock skew allowance), 0 to 86400.
    #[serde(default)]
    pub backdate_seconds: u32,
}

/// `[keys]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRules {
    /// Allowed subject key kinds: `rsa`, `ec-p256`, `ec-p384`, `ec-p521`, `ed25519`.
    pub allowed: Vec<KeyKindName>,
    /// Smallest RSA modulus in bits, at least 2048, a multiple of 8. Default 2048.
    #[serde(default = "rsa_min")]
    pub rsa_min_bits: u32,
    /// Largest RSA modulus in bits, at most 16384. Default 8192.
    #[serde(default = "rsa_max")]
    pub rsa_max_bits: u32,
    /// Allowed RSA public exponents, each odd and ≥ 3. Default `[65537]`.
    #[serde(default = "rsa_exponents")]
    pub rsa_exponents: Vec<u64>,
}

fn rsa_min() -> u32 {
    2048
}
fn rsa_max() -> u32 {
    8192
}
fn rsa_exponents() -> Vec<u64> {
    vec![65537]
}

/// A subject key kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyKindName {
    /// RSA, any size within the rules.
    Rsa,
    /// ECDSA P-256.
    EcP256,
    /// ECDSA P-384.
    EcP384,
    /// ECDSA P-521.
    EcP521,
    /// Ed25519.
    Ed25519,
}

/// A keyUsage bit (RFC 5280 §4.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyUsageBit {
    /// digitalSignature (0).
    DigitalSignature,
    /// nonRepudiation / contentCommitment (1).
    NonRepudiation,
    /// keyEncipherment (2); applied to RSA subject keys only.
    KeyEncipherment,
    /// dataEncipherment (3).
    DataEncipherment,
    /// keyAgreement (4).
    KeyAgreement,
    /// keyCertSign (5); sub-CA profiles only.
    KeyCertSign,
    /// cRLSign (6).
    #[serde(rename = "cRLSign")]
    CrlSign,
}

/// An extendedKeyUsage purpose (RFC 5280 §4.2.1.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Purpose {
    /// id-kp-serverAuth.
    ServerAuth,
    /// id-kp-clientAuth.
    ClientAuth,
    /// id-kp-codeSigning.
    CodeSigning,
    /// id-kp-emailProtection.
    EmailProtection,
    /// id-kp-timeStamping.
    TimeStamping,
    /// id-kp-OCSPSigning.
    #[serde(rename = "OCSPSigning")]
    OcspSigning,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Purpose; 6] = [
        Purpose::ServerAuth,
        Purpose::ClientAuth,
        Purpose::CodeSigning,
        Purpose::EmailProtection,
        Purpose::TimeStamping,
        Purpose::OcspSigning,
    ];

    /// The keyUsage bits consistent with this purpose (RFC 5280 §4.2.1.12: "Key usage
    /// bits that may be consistent"). A certificate with this purpose needs at least one
    /// of them, and an end-entity certificate's bits must each suit one of its purposes.
    pub fn consistent_key_usage(self) -> &'static [KeyUsageBit] {
        use KeyUsageBit::*;
        match self {
            Purpose::ServerAuth => &[DigitalSignature, KeyEncipherment, KeyAgreement],
            Purpose::ClientAuth => &[DigitalSignature, KeyAgreement],
            Purpose::CodeSigning => &[DigitalSignature],
            Purpose::EmailProtection => &[
                DigitalSignature,
                NonRepudiation,
                KeyEncipherment,
                KeyAgreement,
            ],
            Purpose::TimeStamping | Purpose::OcspSigning => &[DigitalSignature, NonRepudiation],
        }
    }
}

/// Why these keyUsage bits do not suit these purposes (RFC 5280 §4.2.1.12), if they do
/// not: a purpose none of the bits serves, or a bit (other than the CA bits keyCertSign
/// and cRLSign) that serves none of the purposes. No purposes: nothing to check.
pub fn key_usage_mismatch(bits: &[KeyUsageBit], purposes: &[Purpose]) -> Option<String> {
    if purposes.is_empty() {
        return None;
    }
    if let Some(p) = purposes
        .iter()
        .find(|p| !p.consistent_key_usage().iter().any(|b| bits.contains(b)))
    {
        return Some(format!(
            "extendedKeyUsage {p:?} needs one of the keyUsage bits {:?}",
            p.consistent_key_usage()
        ));
    }
    bits.iter()
        .filter(|b| !matches!(b, KeyUsageBit::KeyCertSign | KeyUsageBit::CrlSign))
        .find(|b| {
            !purposes
                .iter()
                .any(|p| p.consistent_key_usage().contains(b))
        })
        .map(|b| format!("keyUsage {b:?} suits none of the purposes {purposes:?}"))
}

/// A subject attribute a request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum SubjectAttr {
    /// commonName.
    CN,
    /// organizationName.
    O,
    /// organizationalUnitName.
    OU,
    /// localityName.
    L,
    /// stateOrProvinceName.
    ST,
    /// countryName.
    C,
    /// serialNumber (of the subject, not the certificate).
    #[serde(rename = "serialNumber")]
    SerialNumber,
}

/// `[subject]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectRules {
    /// Attributes a request may carry; any other is refused.
    pub allowed: Vec<SubjectAttr>,
    /// Attributes a request must carry.
    #[serde(default)]
    pub required: Vec<SubjectAttr>,
    /// When a CN is present it must equal one of the SANs (BR §7.1.4.3); when none is
    /// given, the first DNS SAN becomes the CN if `cn_from_san` is set.
    #[serde(default)]
    pub cn_must_match_san: bool,
    /// Fill an absent CN from the first DNS (or IP) SAN.
    #[serde(default)]
    pub cn_from_san: bool,
}

/// A subjectAltName type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SanType {
    /// dNSName.
    Dns,
    /// iPAddress.
    Ip,
    /// rfc822Name.
    Email,
    /// uniformResourceIdentifier.
    Uri,
}

/// `[san]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanRules {
    /// SAN types a request may carry; any other is refused.
    #[serde(default)]
    pub allowed: Vec<SanType>,
    /// At least one SAN is required.
    #[serde(default)]
    pub required: bool,
    /// Most SAN entries, 0 to 1000. Default 100.
    #[serde(default = "max_sans")]
    pub max: u32,
    /// Allow `*.` wildcard DNS names (leftmost label only).
    #[serde(default)]
    pub allow_wildcard: bool,
}

fn max_sans() -> u32 {
    100
}

/// `[csr_extensions]`: a CSR's requested extensions are never copied into the certificate;
/// this decides whether asking for them is an error.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsrExtensionRules {
    /// `drop` (default): issue without them; `refuse`: refuse the request.
    #[serde(default)]
    pub forbidden: CsrAction,
    /// Extensions a request may name without effect (subjectAltName is always read for SANs).
    #[serde(default)]
    pub tolerated: Vec<ExtensionName>,
}

impl Default for CsrExtensionRules {
    fn default() -> Self {
        CsrExtensionRules {
            forbidden: CsrAction::Drop,
            tolerated: Vec::new(),
        }
    }
}

/// What to do with a CSR extension the profile does not take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CsrAction {
    /// Issue without it.
    #[default]
    Drop,
    /// Refuse the request.
    Refuse,
}

/// An extension by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExtensionName {
    /// basicConstraints.
    BasicConstraints,
    /// keyUsage.
    KeyUsage,
    /// extKeyUsage.
    ExtendedKeyUsage,
    /// subjectAltName.
    SubjectAltName,
    /// subjectKeyIdentifier.
    SubjectKeyIdentifier,
    /// authorityKeyIdentifier.
    AuthorityKeyIdentifier,
    /// cRLDistributionPoints.
    CrlDistributionPoints,
    /// freshestCRL.
    FreshestCrl,
    /// authorityInfoAccess.
    AuthorityInfoAccess,
    /// certificatePolicies.
    CertificatePolicies,
    /// nameConstraints.
    NameConstraints,
    /// id-pkix-ocsp-nocheck.
    OcspNoCheck,
}

/// `[ca]` for sub-CA profiles.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubCaRules {
    /// basicConstraints pathLenConstraint.
    pub path_len: u8,
    /// dNSName subtrees the sub-CA may issue for (nameConstraints, critical).
    #[serde(default)]
    pub permitted_dns: Vec<String>,
    /// dNSName subtrees it may not issue for.
    #[serde(default)]
    pub excluded_dns: Vec<String>,
}
