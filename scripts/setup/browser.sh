#!/usr/bin/env bash
# Chromium from Debian, for the end-to-end test that opens a tenant's Control UI in a real browser
# (test/e2e/dashboard.test.ts, driven by the npm package playwright-core; a browser download cannot work here).
# Idempotent: nothing happens when chromium is on PATH. Measured on 2 cores: about 60 s to install, 0 s after.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

if command -v chromium >/dev/null; then
  note "chromium: $(chromium --version 2>/dev/null | head -n1)"
  exit 0
fi
step "installing chromium from Debian (headless browser for the Control UI test)"
[[ $(id -u) -eq 0 ]] || die "installing chromium needs root: apt-get install chromium"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null ||
  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } ||
  die "could not install chromium: apt-get install chromium"
note "chromium: $(chromium --version 2>/dev/null | head -n1)"
