//! Diesel table definitions, matching `migrations/sqlite` and `migrations/postgres`.
//!
//! Only the SQL types that `#[derive(diesel::MultiConnection)]` supports on both backends
//! appear here (Text, Binary, SmallInt, Integer, BigInt, Timestamp).

// The `table!` macro generates public modules and items without docs.
#![allow(missing_docs, unreachable_pub)]

diesel::table! {
    keys (label) {
        label -> Text,
        token_label -> Text,
        key_id -> Binary,
        algorithm -> Text,
        public_key_der -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    cas (name) {
        name -> Text,
        parent -> Nullable<Text>,
        key_label -> Text,
        signature -> Text,
        certificate_der -> Binary,
        subject -> Text,
        serial -> Text,
        not_before -> Timestamp,
        not_after -> Timestamp,
        created_at -> Timestamp,
        publication -> Text,
    }
}

diesel::table! {
    certificates (serial) {
        serial -> Text,
        ca_name -> Text,
        status -> Text,
        profile -> Text,
        subject -> Text,
        sans -> Text,
        not_before -> Timestamp,
        not_after -> Timestamp,
        tbs_der -> Binary,
        tbs_sha256 -> Binary,
        der -> Nullable<Binary>,
        crl_shard -> Integer,
        created_at -> Timestamp,
        issued_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    revocations (serial) {
        serial -> Text,
        reason -> SmallInt,
        revoked_at -> Timestamp,
        invalidity_date -> Nullable<Timestamp>,
    }
}

diesel::table! {
    crl_numbers (ca_name, shard) {
        ca_name -> Text,
        shard -> Integer,
        last_number -> BigInt,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        target -> Text,
        details -> Text,
        prev_hash -> Binary,
        hash -> Binary,
    }
}

diesel::table! {
    ocsp_responses (serial) {
        serial -> Text,
        ca_name -> Text,
        signed_for -> Text,
        signer -> Text,
        this_update -> Timestamp,
        next_update -> Timestamp,
        der -> Binary,
        revision -> BigInt,
        stale -> SmallInt,
    }
}

diesel::table! {
    ocsp_revision (id) {
        id -> Integer,
        last -> BigInt,
    }
}

diesel::table! {
    ocsp_signers (ca_name, generation) {
        ca_name -> Text,
        generation -> BigInt,
        key_label -> Text,
        serial -> Text,
        certificate_der -> Binary,
        not_before -> Timestamp,
        not_after -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    crls (ca_name, shard, number) {
        ca_name -> Text,
        shard -> Integer,
        number -> BigInt,
        base_number -> Nullable<BigInt>,
        this_update -> Timestamp,
        next_update -> Timestamp,
        entries -> BigInt,
        sha256 -> Binary,
    }
}

diesel::joinable!(revocations -> certificates (serial));
diesel::joinable!(ocsp_responses -> certificates (serial));
diesel::allow_tables_to_appear_in_same_query!(certificates, revocations, ocsp_responses);
