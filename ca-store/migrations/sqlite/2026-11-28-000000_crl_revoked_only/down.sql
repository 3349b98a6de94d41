DROP INDEX certificates_crl;
CREATE INDEX certificates_crl ON certificates (ca_name, crl_shard, status, serial, not_after);
