#!/usr/bin/env bash
# The image registry that local servers pull from: the local stand-in for ghcr.io. A new local server has no
# images, exactly like a new Hetzner server; its engine pulls them on first use through this registry, configured
# as its Docker Hub mirror (so `agentpod/openclaw:2026.9.6` in tenants.local.yaml pulls unchanged).
#
#   binary     distribution v3 (Apache-2.0) built from the Go module proxy (toolchain/registry), cached
#   image      agentpod/registry:<version>, the static binary in an image from scratch
#   container  agentpod-registry on the network agentpod-registry (local servers join it), published on
#              127.0.0.1:5000 for pushes from this machine; storage in $AGENTPOD_CACHE/registry
#   content    every agentpod/* image the local fleets run, pushed (a no-op when the registry has it already)
# Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
repo="$(cd "$here/../.." && pwd)"
recipe="$repo/toolchain/registry"
version="$(grep -oE 'github.com/distribution/distribution/v3 v[0-9.]+' "$recipe/go.mod" | cut -d' ' -f2)"
binary="$AGENTPOD_BIN/registry-$version"
hash="$(recipe_hash "$recipe/go.mod" "$recipe/go.sum" "$recipe/tools.go" "$repo/images/registry/Dockerfile" "$repo/images/registry/config.yml")"
image="agentpod/registry:${version#v}"
name=agentpod-registry
network=agentpod-registry
push_address=127.0.0.1:5000
export DOCKER_BUILDKIT=0

if [[ ! -x "$binary" ]]; then
  command -v go >/dev/null || die "Go is needed to build the image registry"
  step "building the image registry (distribution $version) from the Go module proxy (first time only, ~1 min)"
  build="$AGENTPOD_CACHE/build/registry"
  mkdir -p "$build"
  cp "$recipe/go.mod" "$recipe/go.sum" "$recipe/tools.go" "$build/"
  (cd "$build" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$binary.tmp" .)
  mv "$binary.tmp" "$binary"
fi

if [[ "$(docker image inspect -f '{{index .Config.Labels "agentpod.recipe"}}' "$image" 2>/dev/null)" != "$hash" ]]; then
  step "docker build $image"
  ctx="$AGENTPOD_CACHE/build/registry-context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$repo/images/registry/Dockerfile" "$repo/images/registry/config.yml" "$ctx/"
  cp "$binary" "$ctx/registry"
  docker build --quiet --label "agentpod.recipe=$hash" -t "$image" "$ctx" >/dev/null
fi

docker network inspect "$network" >/dev/null 2>&1 || docker network create --label agentpod.role=registry "$network" >/dev/null
running_image="$(docker inspect -f '{{.Config.Image}} {{.State.Running}}' "$name" 2>/dev/null || true)"
if [[ "$running_image" != "$image true" ]]; then
  docker rm -f "$name" >/dev/null 2>&1 || true
  mkdir -p "$AGENTPOD_CACHE/registry"
  step "starting $name ($image) on $push_address and the network $network"
  docker run -d --name "$name" --restart unless-stopped --network "$network" \
    --label agentpod.role=registry \
    -p "$push_address:5000" -v "$AGENTPOD_CACHE/registry:/var/lib/registry" \
    --memory 256m --cap-drop ALL --security-opt no-new-privileges "$image" >/dev/null
  for _ in $(seq 1 50); do
    bash -c "exec 3<>/dev/tcp/127.0.0.1/5000" 2>/dev/null && break
    sleep 0.2
  done
else
  note "$name: running ($image)"
fi

# Content: push what the registry lacks. The tag's manifest names the image's config digest, which is the image id.
for ref in $(docker image ls --filter 'label=agentpod.recipe' --format '{{.Repository}}:{{.Tag}}' | grep -E '^agentpod/(openclaw|traefik|standin|debian-base|backup):' | sort); do
  repository="${ref%%:*}" tag="${ref#*:}"
  want="$(docker image inspect -f '{{.Id}}' "$ref")"
  have="$(curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$push_address/v2/$repository/manifests/$tag" 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["config"]["digest"])' 2>/dev/null || true)"
  if [[ "$have" == "$want" ]]; then
    note "registry has $ref"
    continue
  fi
  step "pushing $ref to the local registry"
  docker tag "$ref" "$push_address/$ref"
  docker push --quiet "$push_address/$ref" >/dev/null
  docker rmi "$push_address/$ref" >/dev/null
done
