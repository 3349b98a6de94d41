DROP TABLE crls;
DROP INDEX certificates_crl;
