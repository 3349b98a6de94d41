-- Pre-signed OCSP responses, their change feed and delegated responders; SQLite flavour.
-- Keep in step with migrations/postgres and src/schema.rs.
-- Timestamps are UTC, whole seconds, stored by diesel as 'YYYY-MM-DD HH:MM:SS' text.

-- One pre-signed response per certificate (the latest one stored). `revision` is the row's
-- position in the change feed that responders follow (`revision > watermark`); `stale` is 1
-- once the certificate was revoked after the response was signed.
CREATE TABLE ocsp_responses (
    serial      TEXT PRIMARY KEY NOT NULL REFERENCES certificates (serial),
    ca_name     TEXT NOT NULL,
    signed_for  TEXT NOT NULL CHECK (signed_for IN ('issued', 'revoked')),
    signer      TEXT NOT NULL,
    this_update TIMESTAMP NOT NULL,
    next_update TIMESTAMP NOT NULL,
    der         BLOB NOT NULL,
    revision    BIGINT NOT NULL CHECK (revision >= 1),
    stale       SMALLINT NOT NULL CHECK (stale IN (0, 1))
);
-- Serves the change feed (ORDER BY revision) and proves that no revision is handed out twice.
-- ocsp_due is driven by certificates_ca_status_not_after and looks responses up by serial.
CREATE UNIQUE INDEX ocsp_responses_revision ON ocsp_responses (revision);

-- The last revision handed out; a single row. Every transaction that changes ocsp_responses
-- locks this row and bumps it before that change (after the certificate rows it locks,
-- before the audit-log lock), and holds the lock until it commits. So such transactions
-- commit, and become visible, one after another in revision order: a follower that has read
-- every row up to revision N never later meets a row committed with a revision at or below N.
-- (On SQLite the database's single write lock orders them already; the counter still
-- hands out the numbers, and the schema stays the same on both backends.)
CREATE TABLE ocsp_revision (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last BIGINT NOT NULL CHECK (last >= 0)
);
INSERT INTO ocsp_revision (id, last) VALUES (1, 0);

-- Delegated OCSP responders (RFC 6960 §4.2.2.2), one generation per renewal.
CREATE TABLE ocsp_signers (
    ca_name         TEXT NOT NULL,
    generation      BIGINT NOT NULL CHECK (generation >= 1),
    key_label       TEXT NOT NULL,
    serial          TEXT NOT NULL,
    certificate_der BLOB NOT NULL,
    not_before      TIMESTAMP NOT NULL,
    not_after       TIMESTAMP NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (ca_name, generation)
);
