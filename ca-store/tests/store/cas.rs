//! Keys and CAs.

use ca_core::store::{CaStore, StoreError};

use crate::common::{ca, each_backend, key};

#[test]
fn keys_insert_get_list_and_conflict() {
    each_backend("keys_insert_get_list_and_conflict", |db| {
        let s = &db.store;
        assert_eq!(s.list_keys().unwrap(), vec![]);
        let k2 = key("k2");
        let k1 = key("k1");
        s.insert_key(&k2).unwrap();
        s.insert_key(&k1).unwrap();
        assert_eq!(s.key("k1").unwrap(), Some(k1.clone()));
        assert_eq!(s.key("missing").unwrap(), None);
        // Ordered by label, not by insertion.
        assert_eq!(s.list_keys().unwrap(), vec![k1.clone(), k2.clone()]);

        let mut dup = key("k1");
        dup.token_label = "token-b".to_string();
        dup.key_id = vec![9, 9, 9];
        let err = s.insert_key(&dup).unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(_)),
            "{}: {err:?}",
            db.name
        );
        assert_eq!(
            s.key("k1").unwrap(),
            Some(k1),
            "{}: first key kept",
            db.name
        );
        assert_eq!(s.list_keys().unwrap().len(), 2);
    });
}

#[test]
fn cas_insert_get_list_and_conflict() {
    each_backend("cas_insert_get_list_and_conflict", |db| {
        let s = &db.store;
        s.insert_key(&key("root-key")).unwrap();
        s.insert_key(&key("issuing-key")).unwrap();
        let root = ca("root", None, "root-key", 0);
        let issuing = ca("issuing", Some("root"), "issuing-key", 0);
        let later = ca("b-later", Some("root"), "issuing-key", 60);
        s.insert_ca(&root).unwrap();
        s.insert_ca(&later).unwrap();
        s.insert_ca(&issuing).unwrap();

        assert_eq!(s.ca("root").unwrap(), Some(root.clone()));
        assert_eq!(s.ca("issuing").unwrap(), Some(issuing.clone()));
        assert_eq!(s.ca("nope").unwrap(), None);
        // By creation time, then by name.
        let names: Vec<String> = s.list_cas().unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["issuing", "root", "b-later"]);

        let mut dup = ca("root", None, "issuing-key", 5);
        dup.subject = "CN=impostor".to_string();
        let err = s.insert_ca(&dup).unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(_)),
            "{}: {err:?}",
            db.name
        );
        assert_eq!(
            s.ca("root").unwrap(),
            Some(root),
            "{}: first CA kept",
            db.name
        );
    });
}

#[test]
fn ca_with_unknown_key_or_parent_is_refused() {
    each_backend("ca_with_unknown_key_or_parent_is_refused", |db| {
        let s = &db.store;
        s.insert_key(&key("k")).unwrap();
        let err = s.insert_ca(&ca("a", None, "no-such-key", 0)).unwrap_err();
        assert!(
            matches!(err, StoreError::NotFound(_)),
            "{}: {err:?}",
            db.name
        );
        let err = s
            .insert_ca(&ca("b", Some("no-such-ca"), "k", 0))
            .unwrap_err();
        assert!(
            matches!(err, StoreError::NotFound(_)),
            "{}: {err:?}",
            db.name
        );
        assert_eq!(s.list_cas().unwrap(), vec![]);
    });
}
