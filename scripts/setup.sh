#!/usr/bin/env bash
# Sets up everything the local target and the test suite need, on a fresh machine of this kind (root, Debian,
# registries only): npm dependencies (Node 24 among them), a Docker engine, the Pulumi CLI and the Docker provider
# plugin built from the Go module proxy, and the local images. Idempotent: a second run takes seconds and changes
# nothing. Slow outputs are cached under ~/.cache/agentpod (AGENTPOD_CACHE).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
source scripts/setup/lib.sh
started=$SECONDS

# npm dependencies: reinstall only when the lockfile changed since the last install.
stamp="node_modules/.agentpod-lock"
lock_hash="$(sha256sum package-lock.json | cut -c1-16)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]]; then
  step "npm ci (Node 24 comes with it, as the devDependency \"node\")"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" >"$stamp"
else
  note "npm dependencies: up to date"
fi
# The policy pack is its own npm project (PulumiPolicy.yaml); same rule.
pstamp="policy/node_modules/.agentpod-lock"
plock="$(sha256sum policy/package-lock.json | cut -c1-16)"
if [[ "$(cat "$pstamp" 2>/dev/null)" != "$plock" ]]; then
  step "npm ci --prefix policy (the policy pack)"
  npm ci --prefix policy --no-audit --no-fund --loglevel=error
  echo "$plock" >"$pstamp"
else
  note "policy pack dependencies: up to date"
fi
export PATH="$repo/node_modules/.bin:$PATH"
[[ "$(node --version)" == v24.* ]] || die "node_modules/.bin/node is $(node --version), expected v24"

bash scripts/setup/docker-engine.sh
bash scripts/setup/pulumi-cli.sh
bash scripts/setup/provider-docker.sh
bash scripts/setup/images.sh
bash scripts/setup/registry.sh
bash scripts/setup/s3.sh
bash scripts/setup/acme.sh
if [[ -f scripts/setup/actionlint.sh ]]; then bash scripts/setup/actionlint.sh; fi
bash scripts/setup/test-tools.sh

step "set-up complete in $((SECONDS - started)) s"
