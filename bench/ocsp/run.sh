#!/usr/bin/env bash
# The OCSP benchmark of issue 4, in one run, peers side by side (see BENCHMARKS.md):
#
#   bench/ocsp/run.sh
#
# 1. Installs what is missing (scripts/install-deps.sh, then wrk, nginx and curl from
#    Debian) and builds hsmca and the benchmark's helpers in release
#    (`cargo build --release --locked -p hsmca -p hsmca-bench --bins`).
# 2. In a fresh temporary directory: `hsmca init` (default ceremony, P-256 issuing CA), then
#    `ocsp_populate` issues N certificates through the issuance pipeline and writes an
#    OpenSSL index.txt of them and GET request paths for a sample of them.
# 3. Starts `hsmca serve` (release, default config: delegated P-256 responder) and times
#    how long it takes until all N responses are pre-signed (/metrics gauge
#    hsmca_ocsp_cached_presigned).
# 4. wrk (2 threads, 64 connections, --latency) GETs the sample, in random order, from
#    (a) hsmca serve, (b) nginx serving the same response bytes as static files (fetched
#    from hsmca by `ocsp_fetch`), (c) `openssl ocsp -port` over the same index.txt and CA,
#    signing every response with a software P-256 key. Each peer's answer is checked before
#    its load, and each peer runs alone.
# 5. hsmca serve's resident memory (VmRSS, VmHWM) after its pre-signed load.
# 6. The raw SoftHSM2 signing rate of the responder key (`ocsp_sign_rate`, 1 and 2
#    threads), then hsmca serve again with `[ocsp] nonce = "echo"` under POSTs that carry a
#    nonce (on-demand signing, 64 connections).
# 7. Prints a markdown report: figures (with the CPU time each server spent per request and
#    the CPU that other processes took meanwhile, to tell a clean run from a noisy one),
#    ratios against the targets, the machine and versions, and the time each phase took.
#
# Environment:
#   OCSP_BENCH_CERTS=100000      certificates issued
#   OCSP_BENCH_SECONDS=15        duration of each measured wrk run
#   OCSP_BENCH_WARMUP=2          seconds of wrk warm-up before each measured run
#   OCSP_BENCH_SAMPLE=10000      certificates in the GET request list
#   OCSP_BENCH_SIGN_SECONDS=5    duration of each raw-signing measurement
#   OCSP_BENCH_KEEP=1            keep the temporary directory (logs, wrk output, data)
#   OCSP_BENCH_REPORT=FILE       also write the report to FILE
#   OCSP_BENCH_BUILD=0           use the release binaries already built, do not run cargo
#   CARGO_TARGET_DIR             where cargo builds (default: ./target)
#
# Only loopback addresses are used. Every process it starts is stopped when it exits.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/ocsp"
N="${OCSP_BENCH_CERTS:-100000}"
DURATION="${OCSP_BENCH_SECONDS:-15}"
WARMUP="${OCSP_BENCH_WARMUP:-2}"
SAMPLE="${OCSP_BENCH_SAMPLE:-10000}"
SIGN_SECONDS="${OCSP_BENCH_SIGN_SECONDS:-5}"
CONNECTIONS=64
WRK_THREADS=2
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if (( SAMPLE > N )); then SAMPLE="$N"; fi

# The run must not pick up another data directory, config, database or token.
unset HSMCA_DATA_DIR HSMCA_CONFIG HSMCA_DATABASE_URL HSMCA_USER_PIN HSMCA_SO_PIN SOFTHSM2_CONF

log() { printf '[ocsp-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# ---------------------------------------------------------------- phases and cleanup
PHASES=()
PHASE_NAME=""
PHASE_T0=0
now() { date +%s.%N; }
phase() {
  local t; t="$(now)"
  if [[ -n "$PHASE_NAME" ]]; then
    PHASES+=("$PHASE_NAME|$(awk -v a="$PHASE_T0" -v b="$t" 'BEGIN{printf "%.1f", b-a}')")
  fi
  PHASE_NAME="$1"; PHASE_T0="$t"
  [[ -n "$1" ]] && log "== $1"
  return 0
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hsmca-ocsp-bench.XXXXXX")"
SERVE_PID=""
NGINX_PID=""
OSSL_PID=""
stop_pid() { # PID [group]: TERM (the process group when asked), then KILL after 5 s
  local pid="$1" target="$1"
  [[ -z "$pid" ]] && return 0
  if [[ "${2:-}" == group ]] && kill -0 -- "-$pid" 2>/dev/null; then target="-$pid"; fi
  kill -TERM -- "$target" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "$target" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# stop_openssl: KILL, since the `openssl ocsp -multi` parent ignores SIGTERM while it waits
# for its children.
stop_openssl() {
  [[ -n "$OSSL_PID" ]] || return 0
  kill -KILL -- "-$OSSL_PID" 2>/dev/null || kill -KILL "$OSSL_PID" 2>/dev/null || true
  wait "$OSSL_PID" 2>/dev/null || true
  OSSL_PID=""
}
cleanup() {
  stop_pid "$SERVE_PID"
  stop_pid "$NGINX_PID" group
  stop_openssl
  if [[ "${OCSP_BENCH_KEEP:-0}" == 1 ]]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A TCP port no socket uses, below the ephemeral range (so that no client connection, such
# as wrk's to the previous peer, holds it).
free_port() {
  local p low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  (( low > 11000 )) || low=32768
  for _ in $(seq 1 200); do
    p=$(( 10000 + RANDOM % (low - 10000) ))
    if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then echo "$p"; return; fi
  done
  die "no free port"
}

# Waits until something listens on 127.0.0.1:PORT.
wait_port() {
  for _ in $(seq 1 300); do
    ss -Htln "sport = :$1" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  die "nothing listens on port $1"
}

# CPU time (clock ticks) the whole machine spent busy so far (user, nice, system, irq,
# softirq, steal).
cpu_busy() { awk '$1=="cpu" {print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
# others_cores BUSY0 BUSY1 OWN_SECONDS WALL_SECONDS: the cores that processes other than the
# measured ones kept busy meanwhile (machine busy ticks minus the measured CPU seconds).
others_cores() {
  awk -v b=$(( $2 - $1 )) -v own="$3" -v wall="$4" -v hz="$(getconf CLK_TCK)" \
    'BEGIN{o = (b / hz - own) / wall; if (o < 0) o = 0; printf "%.2f", o}'
}

# ---------------------------------------------------------------- 1. install, build
phase "install and build"
"$ROOT/scripts/install-deps.sh"
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx)
command -v curl >/dev/null || missing+=(curl)
command -v ss >/dev/null || missing+=(iproute2)
if (( ${#missing[@]} )); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  log "installing ${missing[*]}"
  # Debian starts nginx on port 80 after installing it unless policy-rc.d says no; the
  # benchmark runs its own nginx, so say no for the time of the install if nothing else does.
  added_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  if (( added_policy )); then $SUDO rm -f /usr/sbin/policy-rc.d; fi
fi
if [[ "${OCSP_BENCH_BUILD:-1}" == 1 ]]; then
  (cd "$ROOT" && cargo build --release --locked -p hsmca -p hsmca-bench --bins)
fi
BIN="$TARGET/release"
HSMCA="$BIN/hsmca"
DATA="$WORK/data"
hsmca() { "$HSMCA" --data-dir "$DATA" "$@"; }

# ---------------------------------------------------------------- 2. PKI and certificates
phase "hsmca init"
hsmca init >"$WORK/init.log" 2>&1 || { cat "$WORK/init.log" >&2; die "hsmca init"; }
hsmca ca show issuing --pem >"$WORK/issuing.pem"
hsmca ca show root --pem >"$WORK/root.pem"
# The template of every GET request: one SHA-1 CertID, no nonce, as OpenSSL sends it.
openssl ocsp -issuer "$WORK/issuing.pem" -serial 0x01 -no_nonce -reqout "$WORK/template.der"

phase "issue $N certificates (ocsp_populate, 2 threads)"
b0=$(cpu_busy); w0=$(now)
{ TIMEFORMAT='%U %S'; time "$BIN/ocsp_populate" --data-dir "$DATA" --out "$WORK" \
    --request-template "$WORK/template.der" --count "$N" --sample "$SAMPLE" --threads 2 \
    >"$WORK/populate.txt" 2>&3; } 3>&2 2>"$WORK/populate.time"
cat "$WORK/populate.txt"
OTHER_POPULATE=$(others_cores "$b0" "$(cpu_busy)" "$(awk '{print $1 + $2}' "$WORK/populate.time")" \
  "$(awk -v a="$w0" -v b="$(now)" 'BEGIN{print b - a}')")
ISSUE_RATE=$(sed -n 's/.*(\([0-9]*\)\/s.*/\1/p' "$WORK/populate.txt")
cut -f2 "$WORK/sample.tsv" >"$WORK/hsmca-paths.txt"
sed 's#^/ocsp/#/#' "$WORK/hsmca-paths.txt" >"$WORK/openssl-paths.txt"
FIRST_SERIAL=$(head -1 "$WORK/sample.tsv" | cut -f1)
FIRST_PATH=$(head -1 "$WORK/sample.tsv" | cut -f2)

# ---------------------------------------------------------------- hsmca serve helpers
# start_serve NAME: starts hsmca serve on a free port, sets SERVE_PID, ADDR, LISTEN_S.
start_serve() {
  local t0; t0="$(now)"
  "$HSMCA" --data-dir "$DATA" serve --listen 127.0.0.1:0 2>"$WORK/serve-$1.log" &
  SERVE_PID=$!
  ADDR=""
  for _ in $(seq 1 1200); do
    ADDR=$(sed -n 's#.* on http://\([^/ ]*\).*#\1#p' "$WORK/serve-$1.log" | head -1)
    [[ -n "$ADDR" ]] && break
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve-$1.log" >&2; die "hsmca serve exited"; }
    sleep 0.1
  done
  [[ -n "$ADDR" ]] || die "hsmca serve did not listen within 120 s"
  LISTEN_S=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
  SERVE_T0="$t0"
}
metric() { curl -sf "http://$ADDR/metrics" | awk -v m="$1" '$1==m {print $2}'; }
# Waits until N responses are pre-signed in memory; sets PRESIGN_S (since start_serve).
wait_presigned() {
  local have=0 last=-1 since; since="$(date +%s)"
  while :; do
    have=$(metric hsmca_ocsp_cached_presigned || echo 0)
    (( ${have:-0} >= N )) && break
    kill -0 "$SERVE_PID" 2>/dev/null || die "hsmca serve exited (see serve log)"
    if [[ "$have" != "$last" ]]; then last="$have"; since="$(date +%s)"; fi
    (( $(date +%s) - since > 600 )) && die "no progress in pre-signing for 10 minutes ($have/$N)"
    sleep 0.5
  done
  PRESIGN_S=$(awk -v a="$SERVE_T0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
}
proc_kib() { awk -v f="$2:" '$1==f {print $2}' "/proc/$1/status"; }

# check_response FILE SERIAL VERIFY-OPTIONS...: `openssl ocsp -respin` must verify FILE and
# find SERIAL good.
check_response() {
  local file="$1" serial="$2"; shift 2
  local out
  out=$(openssl ocsp -respin "$file" -issuer "$WORK/issuing.pem" -serial "0x$serial" "$@" 2>&1) \
    || die "openssl ocsp -respin $file: $out"
  grep -q "Response verify OK" <<<"$out" || die "response does not verify: $out"
  grep -qi "0x$serial: good" <<<"$out" || die "response is not good for 0x$serial: $out"
}

# get_check URL FILE: GET must answer 200 application/ocsp-response; the body goes to FILE.
get_check() {
  local got
  got=$(curl -s -o "$2" -w '%{http_code} %{content_type}' "$1") || true
  [[ "$got" == "200 application/ocsp-response"* ]] || die "GET $1 answered '$got'"
}

# CPU time (user + system, clock ticks) used so far by the processes PID...
cpu_ticks() {
  local t=0 pid f a
  for pid in "$@"; do
    f=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    f="${f##*) }" # fields from the 3rd on (the command name may hold spaces)
    read -r -a a <<<"$f"
    t=$(( t + a[11] + a[12] ))
  done
  echo "$t"
}
# The processes whose CPU time counts for a peer: PID and its children.
peer_pids() { echo "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); }

# wrk_warmup SCRIPT URL ARG: a short unmeasured run (connections, caches, CPU clocks).
wrk_warmup() {
  (( WARMUP > 0 )) || return 0
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$1" "$2" -- "$3" \
    >>"$WORK/wrk-warmup.txt" 2>&1 || die "wrk warm-up against $2"
}

# wrk_measure NAME SCRIPT URL ARG PID: the measured run; results in R_<field>[NAME]: the CPU
# time the peer's processes (PID and its children) used per request (R_CPU_US, µs), and the
# CPU that processes other than the peer and wrk used meanwhile (R_OTHER, in cores: anything
# well above 0 means the machine was not otherwise idle and the figures are noisy).
declare -A R_RPS R_P50 R_P99 R_REQS R_SOCKERR R_NON2XX R_CPU_US R_OTHER
wrk_measure() {
  local name="$1" script="$2" url="$3" arg="$4" line pids t0 t1 b0 b1 hz wrk_s
  pids=$(peer_pids "$5")
  hz=$(getconf CLK_TCK)
  log "wrk $name: ${DURATION}s, $CONNECTIONS connections, $WRK_THREADS threads"
  # shellcheck disable=SC2086
  t0=$(cpu_ticks $pids); b0=$(cpu_busy)
  { TIMEFORMAT='%U %S'; time wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
      -s "$script" "$url" -- "$arg" >"$WORK/wrk-$name.txt" 2>&1; } 2>"$WORK/wrk-$name.time" \
    || { cat "$WORK/wrk-$name.txt" >&2; die "wrk $name"; }
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $pids); b1=$(cpu_busy)
  line=$(grep '^WRK_RESULT ' "$WORK/wrk-$name.txt") || { cat "$WORK/wrk-$name.txt" >&2; die "wrk $name: no result"; }
  read -r _ R_RPS[$name] R_P50[$name] R_P99[$name] R_REQS[$name] R_SOCKERR[$name] R_NON2XX[$name] <<<"$line"
  (( R_REQS[$name] > 0 )) || { cat "$WORK/wrk-$name.txt" >&2; die "wrk $name: no request answered"; }
  R_CPU_US[$name]=$(awk -v t=$(( t1 - t0 )) -v hz="$hz" -v n="${R_REQS[$name]}" \
    'BEGIN{printf "%.0f", t * 1e6 / hz / n}')
  wrk_s=$(awk '{print $1 + $2}' "$WORK/wrk-$name.time")
  R_OTHER[$name]=$(awk -v b=$(( b1 - b0 )) -v p=$(( t1 - t0 )) -v w="$wrk_s" -v hz="$hz" -v d="$DURATION" \
    'BEGIN{o = ((b - p) / hz - w) / d; if (o < 0) o = 0; printf "%.2f", o}')
  sed -n '/Latency Distribution/,/^WRK_RESULT/p' "$WORK/wrk-$name.txt" | grep -v WRK_RESULT >&2 || true
  log "$name: ${R_RPS[$name]} req/s, p50 ${R_P50[$name]} µs, p99 ${R_P99[$name]} µs, socket errors ${R_SOCKERR[$name]}, non-2xx ${R_NON2XX[$name]}, ${R_CPU_US[$name]} µs CPU per request; other processes ${R_OTHER[$name]} cores"
}

# ---------------------------------------------------------------- 3. hsmca serve, pre-signing
phase "hsmca serve: start and pre-sign $N responses"
b0=$(cpu_busy)
start_serve presigned
FIRST_LISTEN_S="$LISTEN_S"
wait_presigned
OTHER_PRESIGN=$(others_cores "$b0" "$(cpu_busy)" \
  "$(awk -v t="$(cpu_ticks "$SERVE_PID")" -v hz="$(getconf CLK_TCK)" 'BEGIN{print t / hz}')" "$PRESIGN_S")
FIRST_PRESIGN_S="$PRESIGN_S"
log "listening after ${FIRST_LISTEN_S}s, $N pre-signed after ${FIRST_PRESIGN_S}s"
RSS_IDLE=$(proc_kib "$SERVE_PID" VmRSS)

phase "fetch $SAMPLE responses for nginx (ocsp_fetch)"
"$BIN/ocsp_fetch" --addr "$ADDR" --sample "$WORK/sample.tsv" --out "$WORK"
get_check "http://$ADDR$FIRST_PATH" "$WORK/check-hsmca.der"
check_response "$WORK/check-hsmca.der" "$FIRST_SERIAL" \
  -CAfile "$WORK/root.pem" -verify_other "$WORK/issuing.pem"

# ---------------------------------------------------------------- 4a. hsmca GET load
phase "wrk: hsmca serve, pre-signed GET"
wrk_warmup "$HERE/paths.lua" "http://$ADDR" "$WORK/hsmca-paths.txt"
HITS0=$(metric hsmca_ocsp_cache_hits_total)
ONDEMAND0=$(metric hsmca_ocsp_signed_on_demand_total)
wrk_measure hsmca "$HERE/paths.lua" "http://$ADDR" "$WORK/hsmca-paths.txt" "$SERVE_PID"
HITS=$(( $(metric hsmca_ocsp_cache_hits_total) - HITS0 ))
ONDEMAND=$(( $(metric hsmca_ocsp_signed_on_demand_total) - ONDEMAND0 ))
# ---------------------------------------------------------------- 5. memory
RSS_KIB=$(proc_kib "$SERVE_PID" VmRSS)
HWM_KIB=$(proc_kib "$SERVE_PID" VmHWM)
log "hsmca serve: VmRSS $RSS_KIB KiB, VmHWM $HWM_KIB KiB; $HITS cache hits, $ONDEMAND signed on demand"
stop_pid "$SERVE_PID"; SERVE_PID=""

# ---------------------------------------------------------------- 4b. nginx
phase "wrk: nginx, the same bytes as static files"
NGINX_DIR="$WORK/nginx"
mkdir -p "$NGINX_DIR/tmp"
NGINX_PORT=$(free_port)
NGINX_USER=""
# As root nginx would run its workers as nobody, who cannot read the private temp dir.
[[ $(id -u) -eq 0 ]] && NGINX_USER="user $(id -un) $(id -gn);"
cat >"$NGINX_DIR/nginx.conf" <<EOF
# Generated by bench/ocsp/run.sh: the static-file ceiling for the pre-signed responses.
$NGINX_USER
worker_processes 2;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  open_file_cache max=20000 inactive=60s;
  types { }
  default_type application/ocsp-response;
  client_body_temp_path $NGINX_DIR/tmp/body;
  proxy_temp_path $NGINX_DIR/tmp/proxy;
  fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
  uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
  scgi_temp_path $NGINX_DIR/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/static;
  }
}
EOF
setsid nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" -g 'daemon off;' \
  >"$NGINX_DIR/stdout.log" 2>&1 &
NGINX_PID=$!
wait_port "$NGINX_PORT"
get_check "http://127.0.0.1:$NGINX_PORT/r/$FIRST_SERIAL" "$WORK/check-nginx.der"
cmp -s "$WORK/check-nginx.der" "$WORK/static/r/$FIRST_SERIAL" || die "nginx serves other bytes"
check_response "$WORK/check-nginx.der" "$FIRST_SERIAL" \
  -CAfile "$WORK/root.pem" -verify_other "$WORK/issuing.pem"
wrk_warmup "$HERE/paths.lua" "http://127.0.0.1:$NGINX_PORT" "$WORK/nginx-paths.txt"
wrk_measure nginx "$HERE/paths.lua" "http://127.0.0.1:$NGINX_PORT" "$WORK/nginx-paths.txt" "$NGINX_PID"
stop_pid "$NGINX_PID" group; NGINX_PID=""

# ---------------------------------------------------------------- 4c. openssl ocsp
phase "wrk: openssl ocsp -port"
# Any EC P-256 signer will do for a throughput comparison: a self-signed responder
# certificate (clients would not chain it to the CA; the check below trusts it directly).
openssl req -x509 -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -keyout "$WORK/ossl-responder.key" -out "$WORK/ossl-responder.pem" -days 30 \
  -subj "/CN=openssl bench OCSP responder" \
  -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=OCSPSigning" 2>/dev/null
MULTI=()
OSSL_MODE="1 process"
if openssl ocsp -help 2>&1 | grep -q -- '-multi'; then MULTI=(-multi 2); OSSL_MODE="-multi 2"; fi
# start_openssl: a fresh `openssl ocsp -port` on a free port; sets OSSL_PID, OSSL_PORT.
# -ndays 4: the same 96-hour validity as hsmca's responses; -resp_key_id: responder by key
# hash, as hsmca. (No setsid: with -multi, openssl makes its own process group, which a
# session leader cannot.)
start_openssl() {
  local attempt
  for attempt in 1 2 3; do
    OSSL_PORT=$(free_port)
    openssl ocsp -index "$WORK/index.txt" -CA "$WORK/issuing.pem" \
      -rsigner "$WORK/ossl-responder.pem" -rkey "$WORK/ossl-responder.key" \
      -port "$OSSL_PORT" "${MULTI[@]}" -ndays 4 -resp_key_id \
      >>"$WORK/openssl-ocsp.log" 2>&1 &
    OSSL_PID=$!
    for _ in $(seq 1 50); do
      ss -Htln "sport = :$OSSL_PORT" 2>/dev/null | grep -q . && break
      kill -0 "$OSSL_PID" 2>/dev/null || break
      sleep 0.1
    done
    sleep 0.5 # it listens before it reads the index
    kill -0 "$OSSL_PID" 2>/dev/null && ss -Htln "sport = :$OSSL_PORT" | grep -q . && return 0
    # With -multi its errors go to syslog only: try again on another port.
    wait "$OSSL_PID" 2>/dev/null || log "openssl ocsp exited with status $? (attempt $attempt)"
    OSSL_PID=""
  done
  die "openssl ocsp does not start: $(cat "$WORK/openssl-ocsp.log")"
}
# OpenSSL 3.0's responder spins at 100% CPU on a connection that its client closed before
# sending a request, which wrk does to some of its 64 connections when it stops: so every
# wrk run (warm-up, measurement) gets a fresh responder, stopped right after.
start_openssl
OSSL_METHOD=GET
OSSL_SCRIPT="$HERE/paths.lua"
OSSL_PATH="" # the request paths come from the paths file
OSSL_ARG="$WORK/openssl-paths.txt"
got=$(curl -s -o "$WORK/check-openssl.der" -w '%{http_code} %{content_type}' \
  "http://127.0.0.1:$OSSL_PORT$(head -1 "$WORK/openssl-paths.txt")") || true
if [[ "$got" == "200 application/ocsp-response"* ]] \
  && openssl ocsp -respin "$WORK/check-openssl.der" -issuer "$WORK/issuing.pem" \
       -serial "0x$FIRST_SERIAL" -VAfile "$WORK/ossl-responder.pem" 2>&1 \
     | grep -qi "0x$FIRST_SERIAL: good"; then
  check_response "$WORK/check-openssl.der" "$FIRST_SERIAL" -VAfile "$WORK/ossl-responder.pem"
else
  # An OpenSSL whose responder does not answer GET: POST the first sample request instead.
  log "openssl ocsp did not answer GET ($got); measuring it with POST"
  OSSL_METHOD="POST (one request, GET unsupported)"
  seg="${FIRST_PATH#/ocsp/}"
  printf '%b' "${seg//%/\\x}" | base64 -d >"$WORK/openssl-post.der"
  got=$(curl -s -o "$WORK/check-openssl.der" -w '%{http_code} %{content_type}' \
    -H 'Content-Type: application/ocsp-request' --data-binary @"$WORK/openssl-post.der" \
    "http://127.0.0.1:$OSSL_PORT/") || true
  [[ "$got" == "200 application/ocsp-response"* ]] \
    || die "openssl ocsp POST answered '$got': $(cat "$WORK/openssl-ocsp.log")"
  check_response "$WORK/check-openssl.der" "$FIRST_SERIAL" -VAfile "$WORK/ossl-responder.pem"
  OSSL_SCRIPT="$HERE/post.lua"
  OSSL_PATH="/"
  OSSL_ARG="$WORK/openssl-post.der"
fi
wrk_warmup "$OSSL_SCRIPT" "http://127.0.0.1:$OSSL_PORT$OSSL_PATH" "$OSSL_ARG"
stop_openssl
start_openssl
wrk_measure openssl "$OSSL_SCRIPT" "http://127.0.0.1:$OSSL_PORT$OSSL_PATH" "$OSSL_ARG" "$OSSL_PID"
stop_openssl

# ---------------------------------------------------------------- 6. raw signing rate
phase "raw SoftHSM2 signing rate of the responder key (ocsp_sign_rate)"
b0=$(cpu_busy); w0=$(now)
{ TIMEFORMAT='%U %S'; time "$BIN/ocsp_sign_rate" --data-dir "$DATA" --seconds "$SIGN_SECONDS" \
    >"$WORK/sign-rate.txt" 2>&3; } 3>&2 2>"$WORK/sign-rate.time"
cat "$WORK/sign-rate.txt"
OTHER_SIGN=$(others_cores "$b0" "$(cpu_busy)" "$(awk '{print $1 + $2}' "$WORK/sign-rate.time")" \
  "$(awk -v a="$w0" -v b="$(now)" 'BEGIN{print b - a}')")
SIGN1=$(awk '$1=="sign_rate" && $2==1 {print $3}' "$WORK/sign-rate.txt")
SIGN2=$(awk '$1=="sign_rate" && $2==2 {print $3}' "$WORK/sign-rate.txt")

# ---------------------------------------------------------------- on-demand signing with nonce
phase "hsmca serve (nonce = echo): restart and load $N responses"
printf '# Written by bench/ocsp/run.sh\n[ocsp]\nnonce = "echo"\n' >"$DATA/hsmca.toml"
start_serve echo
ECHO_LISTEN_S="$LISTEN_S"
wait_presigned
ECHO_LOAD_S="$PRESIGN_S"

phase "wrk: hsmca serve, POST with nonce (signed on demand)"
openssl ocsp -issuer "$WORK/issuing.pem" -serial "0x$FIRST_SERIAL" -reqout "$WORK/nonce-req.der"
got=$(curl -s -o "$WORK/check-nonce.der" -w '%{http_code} %{content_type}' \
  -H 'Content-Type: application/ocsp-request' --data-binary @"$WORK/nonce-req.der" \
  "http://$ADDR/ocsp") || true
[[ "$got" == "200 application/ocsp-response"* ]] || die "nonce POST answered '$got'"
out=$(openssl ocsp -reqin "$WORK/nonce-req.der" -respin "$WORK/check-nonce.der" \
  -CAfile "$WORK/root.pem" -verify_other "$WORK/issuing.pem" -resp_text 2>&1) \
  || die "nonce response: $out"
grep -q "Response verify OK" <<<"$out" || die "nonce response does not verify: $out"
grep -qi "nonce" <<<"$out" || die "no nonce in the response: $out"
grep -qiE "no nonce|nonce verify error" <<<"$out" && die "nonce not echoed: $out"
wrk_warmup "$HERE/post.lua" "http://$ADDR/ocsp" "$WORK/nonce-req.der"
ONDEMAND0=$(metric hsmca_ocsp_signed_on_demand_total)
ERRORS0=$(( $(metric 'hsmca_ocsp_errors_total{status="internalError"}') + $(metric 'hsmca_ocsp_errors_total{status="tryLater"}' || echo 0) ))
wrk_measure nonce "$HERE/post.lua" "http://$ADDR/ocsp" "$WORK/nonce-req.der" "$SERVE_PID"
SIGNED=$(( $(metric hsmca_ocsp_signed_on_demand_total) - ONDEMAND0 ))
ECHO_ERRORS=$(( $(metric 'hsmca_ocsp_errors_total{status="internalError"}') + $(metric 'hsmca_ocsp_errors_total{status="tryLater"}' || echo 0) - ERRORS0 ))
ECHO_THREADS=$(awk '$1=="Threads:" {print $2}' "/proc/$SERVE_PID/status")
stop_pid "$SERVE_PID"; SERVE_PID=""
phase ""

# ---------------------------------------------------------------- 7. report
ms() { awk -v u="$1" 'BEGIN{printf "%.2f", u/1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.0f%%", 100*a/b; else print "n/a" }'; }
verdict() { # VALUE OP THRESHOLD
  [[ "$1" == n/a ]] && { echo n/a; return; }
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN{ ok = (op==">=") ? v>=t : v<t; print ok ? "met" : "**not met**" }'
}
mib() { awk -v k="$1" 'BEGIN{printf "%.0f", k/1024}'; }

row() { # NAME LABEL
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$2" "${R_RPS[$1]%.*}" "$(ms "${R_P50[$1]}")" \
    "$(ms "${R_P99[$1]}")" "$(( R_SOCKERR[$1] + R_NON2XX[$1] ))" "${R_CPU_US[$1]}" "${R_OTHER[$1]}"
}
commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || commit="$commit + uncommitted changes"
cpu="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
mem="$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"

report() {
  local hsmca_nginx hsmca_ossl p99ms rssmib od1 od2
  hsmca_nginx=$(ratio "${R_RPS[hsmca]}" "${R_RPS[nginx]}")
  hsmca_ossl=$(ratio "${R_RPS[hsmca]}" "${R_RPS[openssl]}")
  p99ms=$(ms "${R_P99[hsmca]}")
  rssmib=$(mib "$HWM_KIB")
  od2=$(ratio "${R_RPS[nonce]}" "$SIGN2")
  od1=$(ratio "${R_RPS[nonce]}" "$SIGN1")
  cat <<EOF
## OCSP benchmark (issue 4): $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit

$N certificates (P-256 issuing CA, delegated P-256 responder in SoftHSM2, SQLite), GET
requests over $SAMPLE of them in random order, wrk $WRK_THREADS threads / $CONNECTIONS connections,
${DURATION} s per run after ${WARMUP} s of warm-up, every peer alone on the machine with wrk.
Errors: socket errors and HTTP statuses other than 2xx/3xx. Server CPU: user + system time
of the server's processes during the run, per request (wrk runs on the same cores). Others'
CPU: what processes other than the server and wrk used during the run (0 on an idle machine).

| peer | requests/s | p50 ms | p99 ms | errors | server CPU µs/request | others' CPU, cores |
|---|---|---|---|---|---|---|
$(row hsmca "hsmca serve, pre-signed, GET")
$(row nginx "nginx, the same bytes as static files")
$(row openssl "openssl ocsp -port $OSSL_MODE, P-256 software key, $OSSL_METHOD")
$(row nonce "hsmca serve, nonce echo, POST (signed on demand)")

| other figure | value |
|---|---|
| issuance, ocsp_populate (2 threads) | $ISSUE_RATE certificates/s (others' CPU $OTHER_POPULATE cores) |
| hsmca serve first start: listening | ${FIRST_LISTEN_S} s (creates the delegated responder) |
| hsmca serve first start: all $N responses pre-signed | ${FIRST_PRESIGN_S} s (others' CPU $OTHER_PRESIGN cores) |
| hsmca serve restart: all $N responses loaded from the store | ${ECHO_LOAD_S} s (listening after ${ECHO_LISTEN_S} s) |
| hsmca serve memory after pre-signing, before load | VmRSS $(mib "$RSS_IDLE") MiB |
| hsmca serve memory after the GET load | VmRSS $(mib "$RSS_KIB") MiB, VmHWM ${rssmib} MiB |
| GET load: answered from memory / signed on demand | $HITS / $ONDEMAND |
| raw SoftHSM2 sign, responder key, 1 thread | $SIGN1/s |
| raw SoftHSM2 sign, responder key, 2 threads | $SIGN2/s (others' CPU during both $OTHER_SIGN cores) |
| nonce load: signed on demand / internalError + tryLater answers | $SIGNED / $ECHO_ERRORS |
| nonce load: threads in hsmca serve afterwards | $ECHO_THREADS |

| target | result | |
|---|---|---|
| pre-signed GET ≥ 70% of nginx | $(pct "${R_RPS[hsmca]}" "${R_RPS[nginx]}") | $(verdict "$hsmca_nginx" ">=" 0.70) |
| pre-signed GET ≥ 5× openssl ocsp | ${hsmca_ossl}× | $(verdict "$hsmca_ossl" ">=" 5) |
| p99 < 5 ms | ${p99ms} ms | $(verdict "$p99ms" "<" 5) |
| resident memory < 256 MiB (VmHWM) | ${rssmib} MiB | $(verdict "$rssmib" "<" 256) |
| on-demand signing with nonce ≥ 70% of raw SoftHSM2 (2 threads) | $(pct "${R_RPS[nonce]}" "$SIGN2") | $(verdict "$od2" ">=" 0.70) |
| (the same against raw SoftHSM2 with 1 thread) | $(pct "${R_RPS[nonce]}" "$SIGN1") | $(verdict "$od1" ">=" 0.70) |

Machine: $(nproc) cores, $cpu, $mem, $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end.
Versions: $(openssl version | cut -d' ' -f1-2), $(nginx -v 2>&1 | sed 's#nginx version: ##'), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), SoftHSM2 $(softhsm2-util --version), $(rustc --version | cut -d' ' -f1-2).

| phase | seconds |
|---|---|
$(for p in "${PHASES[@]}"; do printf '| %s | %s |\n' "${p%|*}" "${p##*|}"; done)
EOF
}
report | tee "${OCSP_BENCH_REPORT:-/dev/null}"
