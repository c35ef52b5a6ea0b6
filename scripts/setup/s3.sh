#!/usr/bin/env bash
# The local target's off-site object store: a real S3 server that the local servers' backup jobs write to, as
# production hosts write to Hetzner Object Storage in another location.
#
#   binary       versitygw $VERSITYGW_VERSION (Apache-2.0; not MinIO or Garage, which are AGPL) built from the Go
#                module proxy with `go install <module>/cmd/versitygw@<version>` (its go.mod has no replace
#                directive, so no wrapper module is needed), cached in $AGENTPOD_BIN
#   image        agentpod/s3:<version>, the static binary in an image from scratch
#   credentials  generated once: $AGENTPOD_CACHE/s3/credentials (mode 600, never in Git); local stacks read them
#                and keep them as Pulumi secrets (stack/program.ts)
#   container    agentpod-s3 on the network agentpod-registry (the local servers' network; a backup job inside a
#                server reaches it by name through the server's resolver), its posix backend on the volume
#                agentpod-s3-data (outlives any local server: it is the other "location"), published on
#                127.0.0.1:7070 for the operator
#   bucket       agentpod-backups, created through the S3 API (signed PUT) when missing
# Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
repo="$(cd "$here/../.." && pwd)"
VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
binary="$AGENTPOD_BIN/versitygw-$VERSITYGW_VERSION"
image="agentpod/s3:${VERSITYGW_VERSION#v}"
name=agentpod-s3
network=agentpod-registry
volume=agentpod-s3-data
address=127.0.0.1:7070
bucket=agentpod-backups
credentials="$AGENTPOD_CACHE/s3/credentials"
export DOCKER_BUILDKIT=0

if [[ ! -x "$binary" ]]; then
  command -v go >/dev/null || die "Go is needed to build the S3 server"
  step "building versitygw $VERSITYGW_VERSION from the Go module proxy (first time only, ~2 min)"
  build="$AGENTPOD_CACHE/build/versitygw"
  mkdir -p "$build"
  (cd "$build" && CGO_ENABLED=0 GOBIN="$build" GOFLAGS=-mod=mod go install -trimpath -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION")
  mv "$build/versitygw" "$binary"
fi

hash="$(recipe_hash "$repo/images/s3/Dockerfile" "$binary")"
if [[ "$(docker image inspect -f '{{index .Config.Labels "agentpod.recipe"}}' "$image" 2>/dev/null)" != "$hash" ]]; then
  step "docker build $image"
  ctx="$AGENTPOD_CACHE/build/s3-context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$repo/images/s3/Dockerfile" "$ctx/"
  cp "$binary" "$ctx/versitygw"
  docker build --quiet --label "agentpod.recipe=$hash" -t "$image" "$ctx" >/dev/null
fi

if [[ ! -s "$credentials" ]]; then
  step "generating the local object store's credentials ($credentials)"
  mkdir -p "$(dirname "$credentials")" && chmod 700 "$(dirname "$credentials")"
  (umask 077 && printf 'AWS_ACCESS_KEY_ID=agentpod%s\nAWS_SECRET_ACCESS_KEY=%s\n' "$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    "$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')" >"$credentials.tmp" && mv "$credentials.tmp" "$credentials")
fi
chmod 600 "$credentials"
access_key="$(sed -n 's/^AWS_ACCESS_KEY_ID=//p' "$credentials")"
secret_key="$(sed -n 's/^AWS_SECRET_ACCESS_KEY=//p' "$credentials")"

docker network inspect "$network" >/dev/null 2>&1 || docker network create --label agentpod.role=registry "$network" >/dev/null
docker volume inspect "$volume" >/dev/null 2>&1 || docker volume create --label agentpod.role=object-store "$volume" >/dev/null
# The credentials reach the container through its environment (from a root-only file, never on a command line).
running="$(docker inspect -f '{{.Config.Image}} {{.State.Running}} {{index .Config.Labels "agentpod.credentials"}}' "$name" 2>/dev/null || true)"
credentials_hash="$(sha256sum "$credentials" | cut -c1-16)"
if [[ "$running" != "$image true $credentials_hash" ]]; then
  docker rm -f "$name" >/dev/null 2>&1 || true
  step "starting $name ($image) on $address and the network $network"
  env_file="$(mktemp)" && chmod 600 "$env_file"
  printf 'ROOT_ACCESS_KEY_ID=%s\nROOT_SECRET_ACCESS_KEY=%s\n' "$access_key" "$secret_key" >"$env_file"
  docker run -d --name "$name" --restart unless-stopped --network "$network" --env-file "$env_file" \
    --label agentpod.role=object-store --label "agentpod.credentials=$credentials_hash" \
    -p "$address:7070" -v "$volume:/data" \
    --memory 512m --cap-drop ALL --security-opt no-new-privileges "$image" --port :7070 posix /data >/dev/null
  rm -f "$env_file"
  for _ in $(seq 1 50); do
    bash -c "exec 3<>/dev/tcp/${address%:*}/${address#*:}" 2>/dev/null && break
    sleep 0.2
  done
else
  note "$name: running ($image)"
fi

s3() { curl -sS -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "$access_key:$secret_key" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"; }
code="$(s3 -I "http://$address/$bucket")"
if [[ "$code" == 404 ]]; then
  step "creating the bucket $bucket"
  code="$(s3 -X PUT "http://$address/$bucket")"
  [[ "$code" == 200 ]] || die "creating the bucket $bucket on $name answered HTTP $code"
elif [[ "$code" != 200 ]]; then
  die "$name answers HTTP $code for the bucket $bucket (credentials in $credentials)"
else
  note "bucket $bucket: present"
fi
