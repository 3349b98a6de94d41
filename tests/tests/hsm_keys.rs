//! Key generation, key protection (invariant 1), lookups and bad input against a real
//! SoftHSM2 token.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
use hsm_backend::{Error, KeySpec, Module, Pin, RvClass, Token, SOFTHSM2_MODULE};
use hsmca_tests::softhsm;

/// An independent PKCS#11 handle on the same module, as an attacker inside the process
/// would have: it bypasses hsm-backend entirely.
fn raw_pkcs11() -> Pkcs11 {
    let _ = softhsm::module(); // SOFTHSM2_CONF is set and the module initialised
    let ctx = Pkcs11::new(SOFTHSM2_MODULE).unwrap();
    let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    ctx
}

fn raw_slot(ctx: &Pkcs11, label: &str) -> cryptoki::slot::Slot {
    ctx.get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == label)
        .unwrap()
}

#[test]
fn private_key_value_cannot_be_read_and_wrapping_it_fails() {
    let t = softhsm::fresh_token("protect");
    t.token.generate_key(KeySpec::EcP256, "ca-key").unwrap();
    t.token.generate_key(KeySpec::Aes256, "kek").unwrap();

    let ctx = raw_pkcs11();
    let session = ctx.open_rw_session(raw_slot(&ctx, &t.label)).unwrap();
    // The application is already logged in through hsm-backend's keeper session.
    let key = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(b"ca-key".to_vec()),
        ])
        .unwrap()[0];
    let kek = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(b"kek".to_vec()),
        ])
        .unwrap()[0];

    // CKA_VALUE of the private key is sensitive: the token refuses to release it.
    let info = session
        .get_attribute_info(key, &[AttributeType::Value])
        .unwrap();
    assert!(
        matches!(info[0], AttributeInfo::Sensitive),
        "CKA_VALUE must be sensitive, got {:?}",
        info[0]
    );
    let values = session
        .get_attributes(key, &[AttributeType::Value])
        .unwrap();
    assert!(values.is_empty(), "CKA_VALUE was returned: {values:?}");

    // The flags are as generated.
    let flags = session
        .get_attributes(
            key,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::NeverExtractable,
            ],
        )
        .unwrap();
    assert!(flags.contains(&Attribute::Sensitive(true)));
    assert!(flags.contains(&Attribute::Extractable(false)));
    assert!(flags.contains(&Attribute::NeverExtractable(true)));

    // C_WrapKey under a wrapping key fails: the key is not extractable.
    let wrapped = session.wrap_key(&Mechanism::AesKeyWrapPad, kek, key);
    match wrapped {
        Err(cryptoki::error::Error::Pkcs11(rv, _)) => assert_eq!(
            rv,
            cryptoki::error::RvError::KeyUnextractable,
            "wrap failed for the wrong reason"
        ),
        other => panic!("C_WrapKey of a non-extractable key did not fail: {other:?}"),
    }

    // The AES key is protected the same way.
    let kek_value = session
        .get_attributes(kek, &[AttributeType::Value])
        .unwrap();
    assert!(kek_value.is_empty(), "secret key CKA_VALUE was returned");
}

#[test]
fn every_key_type_is_generated_with_label_id_and_protection_flags() {
    let t = softhsm::fresh_token("gen");
    for spec in [
        KeySpec::Rsa2048,
        KeySpec::EcP256,
        KeySpec::EcP384,
        KeySpec::Ed25519,
        KeySpec::Aes256,
    ] {
        let label = format!("k-{spec}");
        let key = t.token.generate_key(spec, &label).unwrap();
        assert_eq!(key.id.len(), 16);
        let found = t.token.find_key(&label).unwrap();
        assert_eq!(found, key, "find_key returns what generate_key made");
        assert_eq!(
            t.token.find_key_by_id(&key.id).unwrap(),
            key,
            "found by CKA_ID too"
        );
    }
    let keys = t.token.list_keys().unwrap();
    let private_or_secret: Vec<_> = keys.iter().filter(|k| k.class != "public").collect();
    assert_eq!(private_or_secret.len(), 5);
    for k in private_or_secret {
        assert_eq!(k.sensitive, Some(true), "{} sensitive", k.label);
        assert_eq!(k.extractable, Some(false), "{} extractable", k.label);
        assert!(k.spec.is_some(), "{} type recognised", k.label);
    }
    assert_eq!(keys.iter().filter(|k| k.class == "public").count(), 4);
}

#[test]
fn taken_key_label_is_refused_and_adds_no_object() {
    let t = softhsm::fresh_token("taken");
    t.token.generate_key(KeySpec::EcP256, "dup").unwrap();
    let before = t.token.list_keys().unwrap();
    let err = t.token.generate_key(KeySpec::EcP384, "dup").unwrap_err();
    assert!(
        matches!(err, Error::KeyLabelTaken(ref l) if l == "dup"),
        "{err}"
    );
    assert_eq!(t.token.list_keys().unwrap(), before);
}

#[test]
fn unknown_key_label_is_key_not_found() {
    let t = softhsm::fresh_token("nokey");
    let err = t.token.find_key("absent").unwrap_err();
    assert!(matches!(err, Error::KeyNotFound(_)), "{err}");
    let err = t.token.find_key_by_id(&[0xde, 0xad]).unwrap_err();
    assert!(
        matches!(err, Error::KeyNotFound(ref m) if m == "id dead"),
        "{err}"
    );
}

#[test]
fn wrong_user_pin_is_refused_with_wrong_pin() {
    let t = softhsm::fresh_token("pin");
    // A different token process-wide login is per token; log out of this one first by
    // opening with a wrong PIN on a second token object of the same label.
    drop(t.token);
    let err = Token::open(
        softhsm::module(),
        &t.label,
        Pin::new("not-the-pin").unwrap(),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::WrongPin { role: "user", .. }),
        "expected WrongPin, got {err}"
    );
    assert_eq!(err.class(), Some(RvClass::WrongPin));
}

#[test]
fn wrong_so_pin_is_refused() {
    let t = softhsm::fresh_token("sopin");
    // The SO cannot log in while the application is logged in as user: close the user side.
    let label = t.label.clone();
    drop(t.token);
    let err = softhsm::module()
        .check_so_pin(&label, &Pin::new("wrong-so").unwrap())
        .unwrap_err();
    assert!(matches!(err, Error::WrongPin { role: "SO", .. }), "{err}");
    softhsm::module().check_so_pin(&label, &t.so_pin).unwrap();
}

#[test]
fn unknown_token_label_names_the_tokens_present() {
    let t = softhsm::fresh_token("present");
    let err = Token::open(
        softhsm::module(),
        "no-such-token",
        Pin::new("x1234").unwrap(),
    )
    .unwrap_err();
    match &err {
        Error::TokenNotFound { label, present, .. } => {
            assert_eq!(label, "no-such-token");
            assert!(present.contains(&t.label), "{present}");
        }
        other => panic!("expected TokenNotFound, got {other}"),
    }
}

#[test]
fn creating_a_token_twice_is_refused() {
    let t = softhsm::fresh_token("twice");
    let err = softhsm::module()
        .init_token(&t.label, &t.so_pin, &t.user_pin)
        .unwrap_err();
    assert!(matches!(err, Error::TokenExists(_)), "{err}");
}

#[test]
fn missing_module_error_names_the_path_and_how_to_install() {
    let err = Module::load(std::path::Path::new("/nonexistent/libpkcs11.so")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("/nonexistent/libpkcs11.so"), "{msg}");
    assert!(msg.contains("apt-get install softhsm2"), "{msg}");
    assert!(!msg.contains('\n'));
}

#[test]
fn a_file_that_is_not_a_pkcs11_module_is_refused() {
    let err = Module::load(std::path::Path::new("/etc/hostname")).unwrap_err();
    assert!(matches!(err, Error::ModuleLoad { .. }), "{err}");
}

#[test]
fn debug_output_of_token_and_pin_never_shows_the_pin() {
    let t = softhsm::fresh_token("debug");
    let shown = format!("{:?} {:?} {:?}", t.token, t.user_pin, t.so_pin);
    assert!(!shown.contains(t.user_pin.expose()), "{shown}");
    assert!(!shown.contains(t.so_pin.expose()), "{shown}");
}
