-- A covering index so CRL generation reads revocations with index-only scans in serial
-- order (the SQLite flavour makes the table itself clustered by serial instead).
CREATE INDEX revocations_crl ON revocations (serial) INCLUDE (reason, revoked_at, invalidity_date);
