#!/usr/bin/env bash
# Installs what is missing, builds hsmca and runs it on the embedded defaults: a SoftHSM2
# token and a SQLite file inside ./hsmca-data (override with HSMCA_DATA_DIR). On first run
# it performs the default key ceremony and issues a demo certificate; it prints the CA
# chain and then runs `hsmca serve` in the foreground (OCSP on http://127.0.0.1:8080/ocsp,
# override with HSMCA_LISTEN) until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cargo build --release --locked -p hsmca
bin="${CARGO_TARGET_DIR:-target}/release/hsmca"
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

demo="$data/demo"
if [ ! -f "$demo/demo.pem" ]; then
  mkdir -p "$demo"
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$demo/demo.key" -subj /CN=demo.example.com \
    -addext subjectAltName=DNS:demo.example.com -out "$demo/demo.csr" 2>/dev/null
  "$bin" --data-dir "$data" issue --ca issuing --profile tls-server \
    --csr "$demo/demo.csr" --out "$demo/demo.pem"
fi
"$bin" --data-dir "$data" ca show root --pem > "$demo/root.pem"
"$bin" --data-dir "$data" ca show issuing --pem > "$demo/issuing.pem"

listen="${HSMCA_LISTEN:-127.0.0.1:8080}"
serial=$(openssl x509 -in "$demo/demo.pem" -noout -serial | cut -d= -f2)
cat >&2 <<EOF
--- OCSP ---
demo certificate: $demo/demo.pem (serial $serial)
ask the responder, in another terminal:
  openssl ocsp -issuer $demo/issuing.pem -cert $demo/demo.pem -url http://$listen/ocsp -CAfile $demo/root.pem -verify_other $demo/issuing.pem
revoke the demo certificate:
  $bin --data-dir $data revoke $serial --reason keyCompromise
EOF
exec "$bin" --data-dir "$data" serve --listen "$listen"
