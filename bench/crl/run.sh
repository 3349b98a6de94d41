#!/usr/bin/env bash
# CRL benchmark (issue 5): a CRL of 1,000,000 revoked entries signed with a P-256 key in
# SoftHSM2 — read from the store, signed and published by `hsmca crl generate` — its wall
# time and peak resident memory; and, side by side in the same run, entries per second at
# 100,000 entries for hsmca and for `openssl ca -gencrl` over an index of 100,000 revoked
# entries with a P-256 key.
#
#   bench/crl/run.sh            # CRL_BENCH_ENTRIES=1000000 CRL_BENCH_SMALL=100000 CRL_BENCH_RUNS=3
#
# Prints a markdown table. Wall time and peak RSS come from GNU time (%e, %M) around each
# process, so process start, HSM login and database open are included.
set -euo pipefail
cd "$(dirname "$0")/../.."

big="${CRL_BENCH_ENTRIES:-1000000}"
small="${CRL_BENCH_SMALL:-100000}"
runs="${CRL_BENCH_RUNS:-3}"

./scripts/install-deps.sh >/dev/null
if [ ! -x /usr/bin/time ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y -qq time >/dev/null
fi
cargo build --release --locked -q -p hsmca -p hsmca-tests --bin hsmca --bin bulk-revoked
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/hsmca"
bulk="${CARGO_TARGET_DIR:-$PWD/target}/release/bulk-revoked"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
data="$work/data"
"$bin" --data-dir "$data" init >/dev/null 2>&1
"$bin" --data-dir "$data" ca show issuing --pem > "$work/issuing.pem"
db="$data/hsmca.db"
"$bulk" "$db" issuing 0 "$big"
"$bulk" "$db" issuing 1 "$small"

# Median of the runs: "wall_seconds max_rss_kib".
measure() {
  local out="$work/times" i
  : > "$out"
  for i in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    cat "$work/t" >> "$out"
  done
  sort -n "$out" | sed -n "$(( (runs + 1) / 2 ))p"
}

read -r big_s big_kb < <(measure "$bin" --data-dir "$data" crl generate --ca issuing --shard 0)
big_file="$data/crl/issuing/0.crl"
openssl crl -inform DER -in "$big_file" -CAfile "$work/issuing.pem" -noout -verify 2>&1 | grep -q "verify OK"
big_entries=$("$bin" --data-dir "$data" crl show --ca issuing --shard 0 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"])')
big_bytes=$(stat -c %s "$big_file")

read -r small_s small_kb < <(measure "$bin" --data-dir "$data" crl generate --ca issuing --shard 1)
openssl crl -inform DER -in "$data/crl/issuing/1.crl" -CAfile "$work/issuing.pem" -noout -verify 2>&1 | grep -q "verify OK"

# openssl ca -gencrl: a P-256 CA in files, an index of $small revoked entries.
ossl="$work/openssl"
mkdir -p "$ossl"
openssl ecparam -name prime256v1 -genkey -noout -out "$ossl/ca.key" 2>/dev/null
openssl req -new -x509 -key "$ossl/ca.key" -subj "/CN=openssl bench CA" -days 365 -out "$ossl/ca.pem" 2>/dev/null
python3 - "$ossl/index.txt" "$small" <<'PY'
import os, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for _ in range(n):
        serial = os.urandom(16).hex().upper()
        f.write(f"R\t361231000000Z\t261126000000Z,keyCompromise\t{serial}\tunknown\t/CN=bench\n")
PY
echo 1000 > "$ossl/crlnumber"
cat > "$ossl/ca.cnf" <<CNF
[ ca ]
default_ca = bench
[ bench ]
database = $ossl/index.txt
crlnumber = $ossl/crlnumber
certificate = $ossl/ca.pem
private_key = $ossl/ca.key
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
unique_subject = no
[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF
read -r ossl_s ossl_kb < <(measure openssl ca -gencrl -config "$ossl/ca.cnf" -out "$ossl/crl.pem" -batch)
openssl crl -in "$ossl/crl.pem" -CAfile "$ossl/ca.pem" -noout -verify 2>&1 | grep -q "verify OK"

softhsm_version=$(dpkg-query -W -f='${Version}' softhsm2 2>/dev/null || echo unknown)
rate() { python3 -c "print(f'{$1 / $2:,.0f}')"; }
mib() { python3 -c "print(f'{$1 / 1024:.0f}')"; }
cat <<TABLE
Machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(openssl version); SoftHSM2 $softhsm_version. Median of $runs runs.

| measurement | entries | wall (s) | peak RSS (MiB) | entries per second |
|---|---|---|---|---|
| hsmca crl generate, P-256 in SoftHSM2, SQLite | $big_entries | $big_s | $(mib "$big_kb") | $(rate "$big_entries" "$big_s") |
| hsmca crl generate, P-256 in SoftHSM2, SQLite | $small | $small_s | $(mib "$small_kb") | $(rate "$small" "$small_s") |
| openssl ca -gencrl, P-256 key file | $small | $ossl_s | $(mib "$ossl_kb") | $(rate "$small" "$ossl_s") |

The $big_entries-entry CRL is $(python3 -c "print(f'{$big_bytes / 1048576:.1f}')") MiB of DER. hsmca vs openssl at $small entries: $(python3 -c "print(f'{$ossl_s / $small_s:.1f}')")× the rate.
TABLE
