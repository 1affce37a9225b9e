#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
# Installs the package with its test extras, the Debian packages the connector
# tests talk to (Dovecot for IMAP), starts PostgreSQL if it is not running,
# and runs pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v dovecot >/dev/null 2>&1 || need_apt+=(dovecot-imapd)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "== starting PostgreSQL"
  for version in /etc/postgresql/*; do
    pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start || true
  done
fi

echo "== installing understudy with test extras (CPU torch first, so nothing pulls a CUDA build)"
python -m pip install -q --disable-pip-version-check torch==2.13.0
python -m pip install -q --disable-pip-version-check -e '.[dev]'

echo "== lint and types"
ruff check src tests
ruff format --check src tests
mypy

echo "== tests"
python -m pytest -n 2 --dist loadgroup "$@"
