-- certificates_crl holds revoked certificates only (a partial index), so issuing a
-- certificate (a pending insert, then pending -> issued) no longer writes to it: before,
-- each certificate cost three writes to random pages of this index (its serial is random),
-- about a third of the database work of an issuance. Revoking adds the one entry. The
-- queries that use it (crl_entries, last_revocation) say `status = 'revoked'` as a literal,
-- which is what lets both databases' planners use a partial index.
DROP INDEX certificates_crl;
CREATE INDEX certificates_crl ON certificates (ca_name, crl_shard, serial, not_after)
    WHERE status = 'revoked';
