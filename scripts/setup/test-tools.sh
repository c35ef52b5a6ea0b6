#!/usr/bin/env bash
# Debian packages only the tests use:
# - chromium, for the end-to-end test that opens a tenant's Control UI in a real browser (test/e2e/dashboard.test.ts,
#   driven by the npm package playwright-core; a browser download cannot work here);
# - openssh-server, whose sshd the pinned-host-key test runs on a loopback port of its own
#   (test/unit/ssh-host-keys.test.ts). Only the binary is wanted: on a machine with systemd, the ssh service the
#   package starts is stopped and disabled again.
# Idempotent: nothing happens when both are there. Measured on 2 cores: about 60 s to install, 0 s after.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

missing=()
command -v chromium >/dev/null || missing+=(chromium)
[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
if ((${#missing[@]} == 0)); then
  note "chromium: $(chromium --version 2>/dev/null | head -n1); sshd: $(/usr/sbin/sshd -V 2>&1 | head -n1)"
  exit 0
fi
step "installing ${missing[*]} from Debian (test tools)"
[[ $(id -u) -eq 0 ]] || die "installing ${missing[*]} needs root: apt-get install ${missing[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null ||
  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; } ||
  die "could not install ${missing[*]}: apt-get install ${missing[*]}"
if [[ " ${missing[*]} " == *" openssh-server "* && -d /run/systemd/system ]]; then
  systemctl disable --now ssh >/dev/null 2>&1 || true
fi
note "chromium: $(chromium --version 2>/dev/null | head -n1); sshd: $(/usr/sbin/sshd -V 2>&1 | head -n1)"
