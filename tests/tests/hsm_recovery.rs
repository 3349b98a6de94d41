//! The session pool rebuilds itself: after the application is logged out behind its back
//! (`CKR_USER_NOT_LOGGED_IN`), signing works again without intervention.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use hsm_backend::{KeySpec, SignatureScheme, Signer, SOFTHSM2_MODULE};
use hsmca_tests::softhsm;

#[test]
fn signing_recovers_after_the_token_is_logged_out_behind_its_back() {
    let t = softhsm::fresh_token("recover");
    let key = t.token.generate_key(KeySpec::EcP256, "k").unwrap();
    let signer = t.token.signer(&key, SignatureScheme::EcdsaSha256).unwrap();
    signer.sign(b"before").unwrap();
    assert_eq!(t.token.status().unwrap().recoveries, 0);
    assert!(t.token.status().unwrap().logged_in);

    // Log the whole application out of this token through an independent PKCS#11 handle.
    let ctx = Pkcs11::new(SOFTHSM2_MODULE).unwrap();
    let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = ctx
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == t.label)
        .unwrap();
    let s = ctx.open_ro_session(slot).unwrap();
    s.logout().unwrap();
    assert!(!t.token.status().unwrap().logged_in, "logout took effect");

    // The next signature meets CKR_USER_NOT_LOGGED_IN, logs in again and succeeds.
    let sig = signer.sign(b"after").unwrap();
    ca_core::verify::verify_signature(
        SignatureScheme::EcdsaSha256,
        &signer.public_key().spki_der,
        b"after",
        &sig,
    )
    .unwrap();
    let status = t.token.status().unwrap();
    assert_eq!(status.recoveries, 1, "exactly one rebuild");
    assert!(status.logged_in);
}
