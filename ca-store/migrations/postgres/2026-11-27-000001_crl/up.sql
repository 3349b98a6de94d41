-- CRL generation: the index it reads revoked certificates through, and the CRLs signed;
-- PostgreSQL flavour. Keep in step with migrations/sqlite and src/schema.rs.
-- Timestamps are UTC, whole seconds, as TIMESTAMP WITHOUT TIME ZONE.

-- crl_entries reads the revoked certificates of one CA and shard in serial order, a page at
-- a time (serial > last one seen): equality on the first three columns, then the serial
-- range and the ORDER BY run along the index. The expiry filter (not_after >= ?) is read
-- from the index as well, so the wide certificate rows (TBS, DER) are never visited; each
-- entry costs one look-up of its revocations row by primary key. last_revocation walks the
-- same range.
CREATE INDEX certificates_crl ON certificates (ca_name, crl_shard, status, serial, not_after);

-- Every CRL signed, full (base_number NULL) or delta (base_number = the full CRL it
-- extends). Full and delta CRLs of a shard share one number sequence (RFC 5280 §5.2.3,
-- from crl_numbers), so the primary key refuses a second CRL with a number already used.
-- latest_crl walks the primary key backwards from the highest number of (CA, shard).
CREATE TABLE crls (
    ca_name     TEXT NOT NULL,
    shard       INTEGER NOT NULL,
    number      BIGINT NOT NULL CHECK (number >= 1),
    base_number BIGINT NULL,
    this_update TIMESTAMP NOT NULL,
    next_update TIMESTAMP NOT NULL,
    entries     BIGINT NOT NULL CHECK (entries >= 0),
    sha256      BYTEA NOT NULL,
    PRIMARY KEY (ca_name, shard, number),
    CHECK (base_number >= 1 AND base_number < number)
);
-- list_crls, newest first, of all CAs or of one: walked backwards, no sort.
CREATE INDEX crls_this_update ON crls (this_update, number, ca_name, shard);
CREATE INDEX crls_ca_this_update ON crls (ca_name, this_update, number, shard);
