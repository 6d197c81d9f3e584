#!/usr/bin/env bash
# make bench: install wrk when missing (Debian package), check the infrastructure, then run the bench.
# Arguments go to `python -m bench` (--quick, --no-profile, --gateway-workers N, --note TEXT, --compare REF, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
bash devstack/infra.sh check
export PATH="$PWD/.venv/bin:$PATH"
exec python -m bench "$@"
