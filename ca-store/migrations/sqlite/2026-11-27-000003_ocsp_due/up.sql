-- The OCSP refresher pages through a CA's certificates in serial order (ocsp_due with a
-- keyset): this index gives it that order without sorting the CA's whole table per page.
CREATE INDEX certificates_ca_serial ON certificates (ca_name, serial);
