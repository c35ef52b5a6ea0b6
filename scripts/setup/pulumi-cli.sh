#!/usr/bin/env bash
# The Pulumi CLI (the engine), built from the Go module proxy because release downloads are not reachable here.
# The module in toolchain/pulumi-cli pins github.com/pulumi/pulumi/pkg/v3 at the version @pulumi/pulumi uses.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
repo="$(cd "$here/../.." && pwd)"
version="v$(node -p 'require(process.argv[1]).dependencies["@pulumi/pulumi"]' "$repo/package.json")"
recipe="$repo/toolchain/pulumi-cli"
binary="$AGENTPOD_BIN/pulumi"
stamp="$AGENTPOD_BIN/.pulumi.recipe"
hash="$(recipe_hash "$recipe/go.mod" "$recipe/go.sum" "$recipe/tools.go")"

if [[ -x "$binary" && "$(cat "$stamp" 2>/dev/null)" == "$hash" ]] && "$binary" version 2>/dev/null | grep -qx "$version"; then
  note "pulumi $version: cached at $binary"
  exit 0
fi
grep -q "github.com/pulumi/pulumi/pkg/v3 $version" "$recipe/go.mod" || die "toolchain/pulumi-cli/go.mod does not pin pkg/v3 $version (package.json's @pulumi/pulumi)"
command -v go >/dev/null || die "Go is needed to build the Pulumi CLI"
step "building the Pulumi CLI $version from the Go module proxy (first time only, ~6 min on 2 cores)"
build="$AGENTPOD_CACHE/build/pulumi-cli"
mkdir -p "$build"
cp "$recipe/go.mod" "$recipe/go.sum" "$recipe/tools.go" "$build/"
(cd "$build" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -tags osusergo,grpcnotrace \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
  -o "$binary.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
mv "$binary.tmp" "$binary"
echo "$hash" > "$stamp"
note "pulumi $("$binary" version) at $binary"
