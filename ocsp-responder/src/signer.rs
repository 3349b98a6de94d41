//! Who signs a CA's responses: the CA key, or a delegated responder (RFC 6960 §4.2.2.2)
//! whose key is generated in the HSM and whose `ocsp-signing` certificate (id-kp-OCSPSigning,
//! id-pkix-ocsp-nocheck, short validity) the CA issues through the normal record-before-sign
//! pipeline. A responder is renewed while enough of it remains that every response it
//! signed expires first; several nodes renewing at once agree through the store.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use der::{Decode, Encode};
use hsm_backend::{KeySpec, SignatureScheme, Token};
use profiles::{KeyKindName, ProfileSet};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::name::Name;
use x509_cert::Certificate;

use ca_core::ceremony::{generated_key_record, record_generated_key, Stores};
use ca_core::issue::flow::random_shard;
use ca_core::issue::{plan, IssueRequest, KeyFacts};
use ca_core::issuer::Issuer;
use ca_core::revocation::{revoke, Reason, RevocationPolicy};
use ca_core::signing::CaKey;
use ca_core::store::{CaRecord, OcspSignerRecord, StoreError};

use crate::ca::ResponderKey;
use crate::config::{OcspConfig, SignerMode};
use crate::error::{Error, Result};
use crate::ResponderStore;

/// The profile delegated responder certificates are issued under.
pub const RESPONDER_PROFILE: &str = "ocsp-signing";

/// Recorded as the actor of responder provisioning in the audit log.
const ACTOR: &str = "crypto-user:ocsp-responder";

fn scheme_of(ca: &CaRecord) -> Result<SignatureScheme> {
    Ok(SignatureScheme::parse(&ca.signature)?)
}

/// The key that signs for `ca` under `mode`, from what the store has now: the CA key, or
/// the CA's newest delegated responder. `Ok(None)` when delegated signing is configured
/// and no responder exists yet (`hsmca serve` creates one).
pub fn current_key(
    token: &Arc<Token>,
    store: &dyn ResponderStore,
    ca: &CaRecord,
    mode: SignerMode,
) -> Result<Option<ResponderKey>> {
    match mode {
        SignerMode::Ca => Ok(Some(ResponderKey {
            label: ca.key_label.clone(),
            key: CaKey::open(token, &ca.key_label, &ca.signature)?,
            certificate_der: None,
            generation: 0,
            not_after: None,
        })),
        SignerMode::Delegated => match store.ocsp_signer(&ca.name)? {
            Some(r) => Ok(Some(delegated_key(token, ca, &r)?)),
            None => Ok(None),
        },
    }
}

/// The HSM key and certificate of the delegated responder `r` of `ca`.
pub fn delegated_key(
    token: &Arc<Token>,
    ca: &CaRecord,
    r: &OcspSignerRecord,
) -> Result<ResponderKey> {
    let key = token.find_key(&r.key_label)?;
    Ok(ResponderKey {
        label: r.key_label.clone(),
        key: CaKey::new(Arc::new(token.signer(&key, scheme_of(ca)?)?))?,
        // Parsed once to check it, then kept as DER (it goes into every response as is).
        certificate_der: Some(Certificate::from_der(&r.certificate_der)?.to_der()?),
        generation: r.generation,
        not_after: Some(r.not_after),
    })
}

/// Whether `r` can keep signing at `now` (valid, and not inside the renewal margin).
fn fresh(r: &OcspSignerRecord, config: &OcspConfig, now: NaiveDateTime) -> bool {
    let margin = Duration::hours(config.renew_margin_hours() as i64);
    r.not_before <= now && r.not_after - now > margin
}

fn key_spec(algorithm: &str) -> Result<KeySpec> {
    KeySpec::ALL
        .into_iter()
        .find(|s| s.name() == algorithm && s.is_signing())
        .ok_or_else(|| Error::Setup(format!("CA key algorithm {algorithm:?} cannot sign")))
}

fn key_facts(spec: KeySpec) -> KeyFacts {
    let (kind, rsa_bits) = match spec {
        KeySpec::Rsa2048 => (KeyKindName::Rsa, Some(2048)),
        KeySpec::Rsa3072 => (KeyKindName::Rsa, Some(3072)),
        KeySpec::Rsa4096 => (KeyKindName::Rsa, Some(4096)),
        KeySpec::EcP384 => (KeyKindName::EcP384, None),
        KeySpec::Ed25519 => (KeyKindName::Ed25519, None),
        _ => (KeyKindName::EcP256, None),
    };
    KeyFacts { kind, rsa_bits }
}

/// Makes sure `ca` has a delegated responder that can sign at `now`, creating or renewing
/// one if needed, and returns its record (load its key with [`delegated_key`]).
///
/// A new responder key is generated in the HSM with the CA key's algorithm, its
/// certificate is issued by the CA under the `ocsp-signing` profile (recorded, signed,
/// verified, stored and audited like any other), and the responder is recorded as the
/// CA's next generation. If another node recorded that generation first, its responder is
/// used and ours is revoked (superseded).
pub fn ensure_delegated(
    token: &Arc<Token>,
    store: &dyn ResponderStore,
    profiles: &ProfileSet,
    ca: &CaRecord,
    config: &OcspConfig,
    now: NaiveDateTime,
) -> Result<OcspSignerRecord> {
    let current = store.ocsp_signer(&ca.name)?;
    if let Some(r) = current.as_ref().filter(|r| fresh(r, config, now)) {
        return Ok(r.clone());
    }
    let generation = current.as_ref().map_or(1, |r| r.generation + 1);
    let ca_key = store.key(&ca.key_label)?.ok_or_else(|| {
        Error::Setup(format!(
            "CA {:?}: key {:?} is not recorded",
            ca.name, ca.key_label
        ))
    })?;
    let spec = key_spec(&ca_key.algorithm)?;
    let label = format!(
        "{}-ocsp-{generation}-{}",
        ca.name,
        now.format("%Y%m%d%H%M%S")
    );
    let key = token.generate_key(spec, &label)?;
    let public = token.public_key(&key)?;
    let stores = Stores {
        cas: store,
        certs: store,
        audit: store,
    };
    record_generated_key(
        &stores,
        &generated_key_record(token.label(), &key, &public, now),
        ACTOR,
    )?;
    let profile = profiles
        .get(RESPONDER_PROFILE)
        .ok_or_else(|| Error::Setup(format!("the {RESPONDER_PROFILE:?} profile is not loaded")))?;
    let subject = Name::from_str(&format!("CN={} OCSP Responder", ca.name))
        .map_err(|e| Error::Setup(format!("responder subject for CA {:?}: {e}", ca.name)))?;
    let request = IssueRequest {
        subject,
        public_key: SubjectPublicKeyInfoOwned::from_der(&public.spki_der)?,
        key: key_facts(spec),
        requested_extensions: Vec::new(),
        sans: Vec::new(),
        validity_days: Some(config.signer_validity_days),
    };
    let planned = plan(
        profile,
        request,
        ca,
        now,
        random_shard(ca.publication.crl_shards)?,
    )?;
    let issuer = Issuer::open(token, ca)?;
    let prepared = issuer.prepare(planned.template, now)?;
    let issued = issuer.issue(prepared, store, ACTOR, now)?;
    let pending = store
        .certificate(&issued.serial)?
        .ok_or_else(|| Error::Setup(format!("responder certificate {} vanished", issued.serial)))?
        .pending;
    let record = OcspSignerRecord {
        ca_name: ca.name.clone(),
        generation,
        key_label: label,
        serial: issued.serial.clone(),
        certificate_der: issued.der.clone(),
        not_before: pending.not_before,
        not_after: pending.not_after,
        created_at: now,
    };
    match store.insert_ocsp_signer(&record) {
        Ok(()) => {
            tracing::info!(ca = %ca.name, generation, serial = %issued.serial, "created delegated OCSP responder");
            Ok(record)
        }
        Err(StoreError::Conflict(_)) => {
            // Another node renewed first: use its responder, retire ours.
            revoke(
                store,
                &issued.serial,
                Reason::Superseded,
                None,
                RevocationPolicy::default(),
                ACTOR,
                now,
            )?;
            let theirs = store.ocsp_signer(&ca.name)?.ok_or_else(|| {
                Error::Setup(format!(
                    "CA {:?}: responder conflict but none stored",
                    ca.name
                ))
            })?;
            Ok(theirs)
        }
        Err(e) => Err(e.into()),
    }
}
