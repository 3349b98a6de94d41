DROP INDEX certificates_ca_serial;
