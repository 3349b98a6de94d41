//! Store behaviour, each test run on SQLite and on PostgreSQL (see `common`).

mod audit;
mod batch;
mod cas;
mod certs;
mod common;
mod crl;
mod ocsp;
mod open;
