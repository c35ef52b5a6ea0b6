#!/usr/bin/env bash
# The test command (README, .ci/run): set-up (fast when warm), type check, unit tests (pure logic, mocks, policy,
# workflow lint), then the end-to-end suite on the real engine, Docker, Traefik and OpenClaw.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
bash scripts/setup.sh
export PATH="$repo/node_modules/.bin:$PATH"
echo "==> type check"
tsc --noEmit -p .
echo "==> unit tests"
vitest run --project unit
echo "==> end-to-end tests (real engine, Docker, Traefik, OpenClaw)"
vitest run --project e2e
