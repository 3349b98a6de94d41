#!/usr/bin/env bash
# Installs what is missing, builds hsmca and runs it on the embedded defaults: a SoftHSM2
# token and a SQLite file inside ./hsmca-data (override with HSMCA_DATA_DIR). On first run
# it performs the default key ceremony; it then prints the CA chain.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cargo build --release --locked -p hsmca
bin=target/release/hsmca
data="${HSMCA_DATA_DIR:-hsmca-data}"

if "$bin" --data-dir "$data" ca show root --pem >/dev/null 2>&1; then
  echo "demo: $data is already initialised" >&2
else
  "$bin" --data-dir "$data" init >/dev/null
fi
"$bin" --data-dir "$data" ca list
"$bin" --data-dir "$data" hsm status
echo "--- chain (issuing, then root) ---"
"$bin" --data-dir "$data" ca show issuing --pem
"$bin" --data-dir "$data" ca show root --pem
