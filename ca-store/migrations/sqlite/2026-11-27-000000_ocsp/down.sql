DROP TABLE ocsp_signers;
DROP TABLE ocsp_revision;
DROP TABLE ocsp_responses;
