DROP TABLE audit_log;
DROP TABLE crl_numbers;
DROP TABLE revocations;
DROP TABLE certificates;
DROP TABLE cas;
DROP TABLE keys;
