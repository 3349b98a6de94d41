#!/usr/bin/env bash
# Runs every check and test of hsmca: formatting, clippy, and the whole workspace's tests
# against a real SoftHSM2 token, SQLite and PostgreSQL, judged by OpenSSL.
# Installs missing system packages and starts PostgreSQL first (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh --test
export PATH="$PWD/.tools/venv/bin:$PATH"

export HSMCA_TEST_DATABASE_URL="${HSMCA_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# One `cargo test` builds the hsmca binary (it has integration tests of its own) before
# the workspace tests in tests/ run it.
cargo test --workspace --locked
