DROP INDEX revocations_crl;
