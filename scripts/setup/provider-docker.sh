#!/usr/bin/env bash
# The Pulumi resource plugin "docker" 5.2.0 (what the npm SDK @pulumi/docker@5.2.0 asks the engine for), built
# here because release downloads are not reachable and the Go proxy refuses pulumi-docker's own provider module.
#
# Recipe (toolchain/pulumi-resource-docker): pulumi-terraform-bridge v3.137.0 wrapping the Terraform provider
# kreuzwerker/terraform-provider-docker at the commit pinned below, both from the Go module proxy. The upstream
# module is copied to a writable build folder and gets one file of ours (upstream-shim/agentpodshim.go.txt), a
# package that hands its internal SDKv2 provider to the bridge. tfgen writes the Pulumi schema, which is embedded
# in the plugin binary.
#
# Idempotent: the build is skipped when $AGENTPOD_BIN/pulumi-resource-docker-5.2.0 was built from the same
# recipe (hash of the wrapper's sources and the pinned upstream); the plugin is installed into the Pulumi plugin
# cache ($PULUMI_HOME/plugins, default ~/.pulumi) unless the same binary is already there. No network is needed
# once the Go module cache is warm. Measured on 2 cores: from empty Go caches 8.5 min (1.7 GB of modules, 1.8 GB
# of build cache); with warm Go caches 15 s; up to date 0.4 s.
#
# Env: AGENTPOD_CACHE (~/.cache/agentpod), PULUMI_HOME, GOMODCACHE/GOCACHE (Go defaults),
#      PULUMI (path of the pulumi CLI; default $AGENTPOD_BIN/pulumi, else the one on PATH).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
repo="$(cd "$here/../.." && pwd)"

PLUGIN_VERSION=5.2.0 # must equal provider.Version in the recipe and @pulumi/docker's pulumi.version
UPSTREAM_MODULE=github.com/kreuzwerker/terraform-provider-docker
UPSTREAM_VERSION=v0.0.0-20260916201441-96d331c98ff4 # master after v4.6.0 (2026-09-16)
UPSTREAM_SUM="h1:T3HvvZCRd4h2qkMl+SXA2zza26Rdz8xqV81skikQWy4="

recipe="$repo/toolchain/pulumi-resource-docker"
binary="$AGENTPOD_BIN/pulumi-resource-docker-$PLUGIN_VERSION"
stamp="$AGENTPOD_BIN/.pulumi-resource-docker-$PLUGIN_VERSION.recipe"
build="$AGENTPOD_CACHE/build/provider-docker"

# One run at a time: a second one waits, then finds the binary built.
mkdir -p "$AGENTPOD_CACHE"
exec 9>"$AGENTPOD_CACHE/.provider-docker.lock"
flock 9

recipe_files() {
  (cd "$recipe" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name '*.go.txt' \) | LC_ALL=C sort)
}
hash="$( (cd "$recipe" && recipe_files | xargs cat; echo "$UPSTREAM_MODULE@$UPSTREAM_VERSION $UPSTREAM_SUM") | sha256sum | cut -c1-16)"

grep -q "^const Version = \"$PLUGIN_VERSION\"" "$recipe/provider/provider.go" ||
  die "toolchain/pulumi-resource-docker/provider/provider.go does not say Version = \"$PLUGIN_VERSION\""
sdk_pkg="$repo/node_modules/@pulumi/docker/package.json"
if [[ -f "$sdk_pkg" ]]; then
  sdk_version="$(node -p 'const p=require(process.argv[1]); (p.pulumi&&p.pulumi.version)||p.version' "$sdk_pkg")"
  [[ "$sdk_version" == "$PLUGIN_VERSION" ]] ||
    die "node_modules/@pulumi/docker asks for plugin $sdk_version but this script builds $PLUGIN_VERSION"
fi

if [[ -x "$binary" && "$(cat "$stamp" 2>/dev/null)" == "$hash" ]]; then
  note "pulumi-resource-docker $PLUGIN_VERSION: cached at $binary"
else
  command -v go >/dev/null || die "Go is needed to build pulumi-resource-docker"
  export CGO_ENABLED=0 GOFLAGS=-mod=readonly
  mkdir -p "$build"

  step "fetching $UPSTREAM_MODULE@$UPSTREAM_VERSION from the Go module proxy"
  dl="$(cd "$build" && GOFLAGS=-mod=mod go mod download -json "$UPSTREAM_MODULE@$UPSTREAM_VERSION")"
  dir="$(printf '%s' "$dl" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  sum="$(printf '%s' "$dl" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -d "$dir" ]] || die "go mod download gave no directory for $UPSTREAM_MODULE@$UPSTREAM_VERSION: $dl"
  [[ "$sum" == "$UPSTREAM_SUM" ]] || die "$UPSTREAM_MODULE@$UPSTREAM_VERSION has sum $sum, expected $UPSTREAM_SUM"

  # Fresh writable copies: the upstream module plus our shim package, and the wrapper sources beside it (its
  # go.mod replaces the upstream module with ../upstream).
  rm -rf "$build/upstream" "$build/wrapper"
  cp -r "$dir" "$build/upstream"
  chmod -R u+w "$build/upstream"
  mkdir -p "$build/upstream/agentpodshim"
  cp "$recipe/upstream-shim/agentpodshim.go.txt" "$build/upstream/agentpodshim/agentpodshim.go"
  mkdir -p "$build/wrapper"
  recipe_files | tar -C "$recipe" -cf - -T - | tar -C "$build/wrapper" -xf -
  mkdir -p "$build/wrapper/provider/generated"
  echo '{}' >"$build/wrapper/provider/generated/bridge-metadata.json" # tfgen rewrites both
  echo '{}' >"$build/wrapper/provider/generated/schema.json"

  step "building the schema generator (pulumi-terraform-bridge tfgen; ~8 min with empty Go caches)"
  start=$SECONDS
  (cd "$build/wrapper" && go build -trimpath -o "$build/pulumi-tfgen-docker" ./cmd/pulumi-tfgen-docker)
  step "generating the Pulumi schema"
  (cd "$build/wrapper" && "$build/pulumi-tfgen-docker" schema --out provider/generated --skip-docs --skip-examples \
    >"$build/tfgen.log" 2>&1) || { tail -n 30 "$build/tfgen.log" >&2; die "tfgen failed (log: $build/tfgen.log)"; }
  step "building pulumi-resource-docker $PLUGIN_VERSION"
  (cd "$build/wrapper" && go build -trimpath -ldflags "-s -w" -o "$binary.tmp" ./cmd/pulumi-resource-docker)
  got="$("$binary.tmp" -version)"
  [[ "$got" == "$PLUGIN_VERSION" ]] || die "built plugin reports version $got, expected $PLUGIN_VERSION"
  mv "$binary.tmp" "$binary"
  cp "$build/wrapper/provider/generated/schema.json" "$AGENTPOD_BIN/pulumi-resource-docker-$PLUGIN_VERSION.schema.json"
  echo "$hash" >"$stamp"
  note "built $binary in $((SECONDS - start)) s"
fi

# The wire contract: every input the SDK sends for the resources we use must be in the schema, same name and shape.
if [[ -d "$repo/node_modules/@pulumi/docker" ]] && command -v node >/dev/null; then
  step "checking the schema against node_modules/@pulumi/docker"
  if ! out="$(node "$recipe/check-schema.mjs" "$AGENTPOD_BIN/pulumi-resource-docker-$PLUGIN_VERSION.schema.json" \
    "$repo/node_modules/@pulumi/docker" Provider Container Network Volume RemoteImage)"; then
    printf '%s\n' "$out" | grep -v '^info: ' >&2
    die "the plugin's schema does not match what @pulumi/docker sends (see above)"
  fi
  note "${out##*$'\n'}"
fi

pulumi_home="${PULUMI_HOME:-$HOME/.pulumi}"
installed="$pulumi_home/plugins/resource-docker-v$PLUGIN_VERSION/pulumi-resource-docker"
if cmp -s "$binary" "$installed"; then
  note "plugin resource docker $PLUGIN_VERSION: installed in $pulumi_home/plugins"
  exit 0
fi
pulumi="${PULUMI:-$AGENTPOD_BIN/pulumi}"
[[ -x "$pulumi" ]] || pulumi="$(command -v pulumi || true)"
[[ -n "$pulumi" ]] || die "no pulumi CLI to install the plugin with: run scripts/setup/pulumi-cli.sh first"
step "installing plugin resource docker $PLUGIN_VERSION into $pulumi_home/plugins"
if [[ -e "$installed" ]]; then # an older build of ours: replace it
  PULUMI_SKIP_UPDATE_CHECK=true "$pulumi" plugin rm resource docker "$PLUGIN_VERSION" --yes >/dev/null
fi
PULUMI_SKIP_UPDATE_CHECK=true "$pulumi" plugin install resource docker "$PLUGIN_VERSION" --file "$binary"
cmp -s "$binary" "$installed" || die "plugin install did not put $binary at $installed"
