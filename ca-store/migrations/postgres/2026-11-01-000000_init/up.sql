-- hsmca store schema, PostgreSQL flavour. Keep in step with migrations/sqlite and src/schema.rs.
-- Timestamps are UTC, whole seconds, as TIMESTAMP WITHOUT TIME ZONE.

CREATE TABLE keys (
    label          TEXT PRIMARY KEY NOT NULL,
    token_label    TEXT NOT NULL,
    key_id         BYTEA NOT NULL,
    algorithm      TEXT NOT NULL,
    public_key_der BYTEA NOT NULL,
    created_at     TIMESTAMP NOT NULL
);

CREATE TABLE cas (
    name            TEXT PRIMARY KEY NOT NULL,
    parent          TEXT NULL REFERENCES cas (name),
    key_label       TEXT NOT NULL REFERENCES keys (label),
    signature       TEXT NOT NULL,
    certificate_der BYTEA NOT NULL,
    subject         TEXT NOT NULL,
    serial          TEXT NOT NULL,
    not_before      TIMESTAMP NOT NULL,
    not_after       TIMESTAMP NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    publication     TEXT NOT NULL
);

-- No foreign key on ca_name: a CA's own certificate is recorded here before its cas row exists.
CREATE TABLE certificates (
    serial      TEXT PRIMARY KEY NOT NULL,
    ca_name     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'issued', 'revoked')),
    profile     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    sans        TEXT NOT NULL,
    not_before  TIMESTAMP NOT NULL,
    not_after   TIMESTAMP NOT NULL,
    tbs_der     BYTEA NOT NULL,
    tbs_sha256  BYTEA NOT NULL,
    der         BYTEA NULL,
    crl_shard   INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    issued_at   TIMESTAMP NULL
);
CREATE INDEX certificates_ca_status_not_after ON certificates (ca_name, status, not_after);

CREATE TABLE revocations (
    serial          TEXT PRIMARY KEY NOT NULL REFERENCES certificates (serial),
    reason          SMALLINT NOT NULL CHECK (reason BETWEEN 0 AND 10 AND reason <> 7),
    revoked_at      TIMESTAMP NOT NULL,
    invalidity_date TIMESTAMP NULL
);
CREATE INDEX revocations_revoked_at ON revocations (revoked_at);

CREATE TABLE crl_numbers (
    ca_name     TEXT NOT NULL,
    shard       INTEGER NOT NULL,
    last_number BIGINT NOT NULL CHECK (last_number >= 1),
    PRIMARY KEY (ca_name, shard)
);

CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY NOT NULL CHECK (seq >= 1),
    at        TIMESTAMP NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    details   TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL
);
