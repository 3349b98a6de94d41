CREATE TABLE revocations_rowid (
    serial          TEXT PRIMARY KEY NOT NULL REFERENCES certificates (serial),
    reason          SMALLINT NOT NULL CHECK (reason BETWEEN 0 AND 10 AND reason <> 7),
    revoked_at      TIMESTAMP NOT NULL,
    invalidity_date TIMESTAMP NULL
);
INSERT INTO revocations_rowid (serial, reason, revoked_at, invalidity_date)
    SELECT serial, reason, revoked_at, invalidity_date FROM revocations;
DROP TABLE revocations;
ALTER TABLE revocations_rowid RENAME TO revocations;
CREATE INDEX revocations_revoked_at ON revocations (revoked_at);
