#!/usr/bin/env bash
# Installs what hsmca needs on Debian 12 (or Ubuntu) that is not there yet:
# SoftHSM2, OpenSSL, p11-kit (network HSM simulation), libpq and a C toolchain.
# With --test it also installs and starts a local PostgreSQL server when none answers on
# 127.0.0.1:5432 (trust auth from 127.0.0.1, database `test`), and installs the independent
# checkers the tests run (pkilint, the CA/Browser Forum linter) into .tools/venv.
set -euo pipefail

want_pg=0
[[ "${1:-}" == "--test" ]] && want_pg=1

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

packages=(softhsm2 openssl p11-kit p11-kit-modules libpq-dev pkg-config build-essential postgresql-client)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if [[ $want_pg -eq 1 ]] && ! command -v pg_isready >/dev/null 2>&1; then
  missing+=(postgresql-client)
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ $want_pg -eq 1 ]] && ! pg_up; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "install-deps: installing postgresql" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  fi
  version=$(ls /etc/postgresql | sort -V | tail -1)
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! $SUDO grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    echo "install-deps: allowing trust auth from 127.0.0.1 for tests in $hba" >&2
    $SUDO sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
    || $SUDO pg_ctlcluster "$version" main start
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "install-deps: PostgreSQL did not start" >&2; exit 1; }
fi

if [[ $want_pg -eq 1 ]]; then
  if ! psql -h 127.0.0.1 -U postgres -d test -qtAc 'select 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test' >/dev/null
  fi
fi

if [[ $want_pg -eq 1 ]]; then
  # pkilint, pinned, in a virtual environment of the project's own (Debian's python3 is
  # externally managed).
  PKILINT_VERSION=0.13.3
  venv="$(cd "$(dirname "$0")/.." && pwd)/.tools/venv"
  if [[ ! -x "$venv/bin/lint_cabf_serverauth_cert" ]]; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    fi
    echo "install-deps: installing pkilint $PKILINT_VERSION into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "pkilint==$PKILINT_VERSION"
  fi
fi
