#!/usr/bin/env bash
# The console's browser tests (tests/e2e/console) drive Debian's chromium through Debian's chromedriver.
# Installs both with apt-get when either is missing (as root, or with passwordless sudo); says what to run otherwise.
# CHROMIUM_BINARY and CHROMEDRIVER_PATH name another browser and driver (the tests read them too).
set -euo pipefail

if [ -x "${CHROMIUM_BINARY:-/usr/bin/chromium}" ] && [ -x "${CHROMEDRIVER_PATH:-/usr/bin/chromedriver}" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "chromium and chromium-driver are needed: apt-get install -y chromium chromium-driver" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
  || { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq chromium chromium-driver >/dev/null; }
/usr/bin/chromium --version
