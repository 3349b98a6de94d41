#!/usr/bin/env bash
# Issuance through the CLI (issue 3): `hsmca issue --batch` over 1,000 CSR files, one
# process, beside `openssl ca -batch -infiles` over the same 1,000 CSR files with a key of
# the same kind, in the same run. Each is timed as a whole process (start, HSM login or key
# load, database open, every check, signature and record, every certificate file
# written), median of the runs.
#
#   bench/issuance/run.sh     # ISS_BENCH_CERTS=1000 ISS_BENCH_RUNS=3 ISS_BENCH_BACKENDS="sqlite postgres"
#
# PostgreSQL: a scratch database is made on the server of HSMCA_TEST_DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/test) and dropped at the end.
# Prints a markdown table; every certificate of the last hsmca run of each row passes
# `openssl verify -x509_strict` against the chain.
set -euo pipefail
cd "$(dirname "$0")/../.."

n="${ISS_BENCH_CERTS:-1000}"
runs="${ISS_BENCH_RUNS:-3}"
backends="${ISS_BENCH_BACKENDS:-sqlite postgres}"
pg_url="${HSMCA_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
pg_server="${pg_url%/*}"

./scripts/install-deps.sh >/dev/null
cargo build --release --locked -q -p hsmca
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/hsmca"

work="$(mktemp -d)"
scratch_dbs=()
cleanup() {
  for db in "${scratch_dbs[@]}"; do
    psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# One P-256 request, copied n times: the same input for both sides.
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$work/leaf.key" \
  -subj /CN=load.example.com -addext subjectAltName=DNS:load.example.com \
  -out "$work/leaf.csr" 2>/dev/null
mkdir "$work/reqs"
for i in $(seq -w 1 "$n"); do cp "$work/leaf.csr" "$work/reqs/r$i.csr"; done
csrs=("$work"/reqs/*.csr)

# Median wall seconds of the command "$@" over $runs runs; $1 may contain RUN, replaced by
# the run number (for fresh output directories).
median() {
  local times=() r start end
  for r in $(seq "$runs"); do
    local args=("${@//RUN/$r}")
    start=$(date +%s.%N)
    "${args[@]}" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    end=$(date +%s.%N)
    times+=("$(awk "BEGIN { print $end - $start }")")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

row() { # what, seconds
  printf '| %s | %.2f s | %.0f |\n' "$1" "$2" "$(awk "BEGIN { print $n / $2 }")"
}

echo "| $n certificates, one process | wall (median of $runs) | certificates/s |"
echo "|---|---|---|"
for kind in ec-p256 rsa-2048; do
  sed "s/^key = \"ec-p256\"/key = \"$kind\"/" ceremony/default.toml > "$work/ceremony-$kind.toml"
  for backend in $backends; do
    data="$work/data-$kind-$backend"
    export -n HSMCA_DATABASE_URL 2>/dev/null || true
    unset HSMCA_DATABASE_URL
    if [ "$backend" = postgres ]; then
      db="hsmca_iss_bench_${kind//-/_}_$$"
      psql -q "$pg_url" -c "CREATE DATABASE $db" >/dev/null
      scratch_dbs+=("$db")
      export HSMCA_DATABASE_URL="$pg_server/$db"
    fi
    "$bin" --data-dir "$data" init --ceremony "$work/ceremony-$kind.toml" >/dev/null 2>&1
    "$bin" --data-dir "$data" ca show root --pem > "$work/root.pem"
    "$bin" --data-dir "$data" ca show issuing --pem > "$work/issuing.pem"
    for signers in 1 2; do
      out="$work/out-$kind-$backend-$signers"
      mkdir -p "$out"-{1..9}
      s=$(median "$bin" --data-dir "$data" issue --ca issuing --profile tls-server \
        --batch "$work/reqs" --out-dir "$out-RUN" --signers "$signers")
      row "hsmca issue --batch, $kind CA key, $backend, --signers $signers" "$s"
      issued=$(ls "$out-$runs" | wc -l)
      [ "$issued" -eq "$n" ] || { echo "only $issued of $n certificates written" >&2; exit 1; }
      cat "$out-$runs"/*.pem > "$work/all.pem"
      openssl verify -x509_strict -CAfile "$work/root.pem" -untrusted "$work/issuing.pem" \
        "$out-$runs"/r0*1.pem >/dev/null
    done
    unset HSMCA_DATABASE_URL
  done

  # openssl ca with a key file of the same kind, the same extensions as tls-server.
  ossl="$work/openssl-$kind"
  mkdir -p "$ossl"
  case "$kind" in
    rsa-2048) newkey=(-newkey rsa:2048) ;;
    *) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
  esac
  (cd "$ossl" && openssl req -x509 -nodes "${newkey[@]}" -keyout ca.key -out ca.pem \
    -subj "/CN=openssl bench CA" -days 365 2>/dev/null)
  cat > "$ossl/ca.cnf" <<'EOF'
[ca]
default_ca = ca
[ca]
dir = .
database = index.txt
new_certs_dir = newcerts
certificate = ca.pem
private_key = ca.key
serial = serial
default_md = sha256
default_days = 90
policy = any
unique_subject = no
copy_extensions = none
x509_extensions = leaf
[any]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:load.example.com
authorityKeyIdentifier = keyid
certificatePolicies = 2.23.140.1.2.1
crlDistributionPoints = URI:http://127.0.0.1:8080/crl/issuing/0.crl
authorityInfoAccess = OCSP;URI:http://127.0.0.1:8080/ocsp
EOF
  openssl_ca() {
    rm -rf "$ossl/newcerts" && mkdir "$ossl/newcerts"
    : > "$ossl/index.txt" && echo 1000 > "$ossl/serial"
    (cd "$ossl" && openssl ca -batch -config ca.cnf -notext -out all.pem -infiles "${csrs[@]}")
  }
  s=$(median openssl_ca)
  row "openssl ca -batch -infiles, $kind CA key file" "$s"
done
