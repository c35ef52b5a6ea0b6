#!/usr/bin/env bash
# The local target's ACME server: the certificates of local tenants come from a real ACME CA, as production's come
# from Let's Encrypt, through the same Traefik ACME configuration (fleet/traefik.ts).
#
#   binaries    Pebble $PEBBLE_VERSION (Let's Encrypt's ACME test server, MPL-2.0) and pebble-challtestsrv, built
#               from the Go module proxy with `go install`; the httpreq adapter (images/acme/dns-adapter, standard
#               library only); all cached in $AGENTPOD_BIN
#   image       agentpod/acme:<version>: the three static binaries in an image from scratch
#   TLS         Pebble's directory is served over HTTPS with a certificate for agentpod-acme signed by a CA generated
#               once here ($AGENTPOD_CACHE/acme/server-ca.pem): Traefik trusts it through LEGO_CA_CERTIFICATES
#   network     agentpod-tls, 203.0.113.0/24 (TEST-NET-3: never routed on the internet; room for 250 local servers
#               beside the three below), with fixed addresses: the
#               local servers join it, and their Traefik (on a bridge inside the server, which neither resolves this
#               machine's container names nor may reach private ranges: the tenant fence drops them) reaches the CA
#               at an address that is not private, as production's Traefik reaches Let's Encrypt on the internet.
#               The addresses are fleet/localServers.ts's LOCAL_ACME; keep both in step.
#   containers  restart unless-stopped and left running like agentpod-registry:
#               agentpod-acme       203.0.113.2  Pebble: directory https://agentpod-acme:14000/dir, management API
#                                   (roots) on 127.0.0.1:15000 for this machine; validates DNS-01 against agentpod-acme-dns
#               agentpod-acme-dns   203.0.113.3  pebble-challtestsrv: DNS on :8053, management API (/set-txt,
#                                   /clear-txt) on :8055
#               agentpod-acme-api   203.0.113.4  the adapter: lego's httpreq API on :8056, forwarded to agentpod-acme-dns
#   trust       Pebble makes a new root CA each time it starts; `bin/agentpod ca` writes the bundle clients trust.
# Idempotent: running containers of the current image are left alone (a restart would change Pebble's root).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
repo="$(cd "$here/../.." && pwd)"
PEBBLE_VERSION="${PEBBLE_VERSION:-v2.10.3}"
pebble="$AGENTPOD_BIN/pebble-$PEBBLE_VERSION"
challtestsrv="$AGENTPOD_BIN/pebble-challtestsrv-$PEBBLE_VERSION"
adapter_hash="$(recipe_hash "$repo/images/acme/dns-adapter/go.mod" "$repo/images/acme/dns-adapter/main.go")"
adapter="$AGENTPOD_BIN/acme-dns-adapter-$adapter_hash"
image="agentpod/acme:${PEBBLE_VERSION#v}"
network=agentpod-tls
subnet=203.0.113.0/24
tls="$AGENTPOD_CACHE/acme"
export DOCKER_BUILDKIT=0

if [[ ! -x "$pebble" || ! -x "$challtestsrv" ]]; then
  command -v go >/dev/null || die "Go is needed to build Pebble"
  step "building Pebble $PEBBLE_VERSION and pebble-challtestsrv from the Go module proxy (first time only, ~1 min)"
  build="$AGENTPOD_CACHE/build/pebble"
  mkdir -p "$build"
  (cd "$build" && CGO_ENABLED=0 GOBIN="$build" GOFLAGS=-mod=mod go install -trimpath -ldflags "-s -w" \
    "github.com/letsencrypt/pebble/v2/cmd/pebble@$PEBBLE_VERSION" "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@$PEBBLE_VERSION")
  mv "$build/pebble" "$pebble" && mv "$build/pebble-challtestsrv" "$challtestsrv"
fi
if [[ ! -x "$adapter" ]]; then
  command -v go >/dev/null || die "Go is needed to build the ACME DNS adapter"
  step "building the httpreq adapter (images/acme/dns-adapter)"
  (cd "$repo/images/acme/dns-adapter" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$adapter.tmp" .)
  mv "$adapter.tmp" "$adapter"
fi

# Pebble's own HTTPS listener: a CA and a certificate for the names Traefik and this machine use.
if [[ ! -s "$tls/server-ca.pem" || ! -s "$tls/cert.pem" ]]; then
  step "generating the TLS certificate of the ACME server's directory ($tls)"
  mkdir -p "$tls" && chmod 700 "$tls"
  (
    cd "$tls" && umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=AgentPod local ACME server CA" \
      -keyout server-ca.key -out server-ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=agentpod-acme" -keyout key.pem -out cert.csr 2>/dev/null
    printf 'subjectAltName=DNS:agentpod-acme,DNS:localhost,IP:127.0.0.1\n' >san.ext
    openssl x509 -req -in cert.csr -CA server-ca.pem -CAkey server-ca.key -CAcreateserial -days 3650 -extfile san.ext -out cert.pem 2>/dev/null
    rm -f cert.csr san.ext server-ca.srl
    chmod 644 server-ca.pem cert.pem
  )
fi

hash="$(recipe_hash "$repo/images/acme/Dockerfile" "$repo/images/acme/pebble.json" "$pebble" "$challtestsrv" "$adapter")"
if [[ "$(docker image inspect -f '{{index .Config.Labels "agentpod.recipe"}}' "$image" 2>/dev/null)" != "$hash" ]]; then
  step "docker build $image"
  ctx="$AGENTPOD_CACHE/build/acme-context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$repo/images/acme/Dockerfile" "$repo/images/acme/pebble.json" "$ctx/"
  cp "$pebble" "$ctx/pebble" && cp "$challtestsrv" "$ctx/pebble-challtestsrv" && cp "$adapter" "$ctx/acme-dns-adapter"
  docker build --quiet --label "agentpod.recipe=$hash" -t "$image" "$ctx" >/dev/null
fi

current_subnet="$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$network" 2>/dev/null || true)"
if [[ "$current_subnet" != "$subnet" ]]; then
  # Local servers attached to the network keep it: removing it would cut their Traefik off from the CA, and the
  # stack would re-create them. Earlier set-ups made a /28, which fits 10 servers.
  servers="$(docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' "$network" 2>/dev/null | tr ' ' '\n' |
    grep -vxE 'agentpod-acme(-dns|-api)?|' | tr '\n' ' ' || true)"
  if [[ -n "$servers" ]]; then
    note "keeping the network $network ($current_subnet): local servers are attached ($servers); it is widened to" \
      "$subnet by the first set-up after they are gone (bin/agentpod destroy)"
  else
    step "creating the network $network ($subnet)"
    docker rm -f agentpod-acme agentpod-acme-dns agentpod-acme-api >/dev/null 2>&1 || true
    docker network rm "$network" >/dev/null 2>&1 || true
    docker network create --label agentpod.role=acme --subnet "$subnet" "$network" >/dev/null
  fi
fi
image_id="$(docker image inspect -f '{{.Id}}' "$image")"
# start NAME ADDRESS [docker run options...] -- [command...]: (re)started only when it is not running the current
# image at its address.
start() {
  local name="$1" address="$2" options=() command=()
  shift 2
  while [[ "$1" != "--" ]]; do options+=("$1") && shift; done
  shift && command=("$@")
  # By image id: a rebuilt image (a new adapter) restarts its containers.
  if [[ "$(docker inspect -f '{{.Image}} {{.State.Running}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$name" 2>/dev/null || true)" == "$image_id true $address" ]]; then
    note "$name: running ($image)"
    return
  fi
  docker rm -f "$name" >/dev/null 2>&1 || true
  step "starting $name ($image) on the network $network"
  docker run -d --name "$name" --restart unless-stopped --network "$network" --ip "$address" --label agentpod.role=acme \
    --memory 128m --cap-drop ALL --security-opt no-new-privileges "${options[@]}" "$image" "${command[@]}" >/dev/null
}
start agentpod-acme-dns 203.0.113.3 --entrypoint /pebble-challtestsrv -- \
  -dnsserver :8053 -management :8055 -http01 "" -https01 "" -tlsalpn01 "" -doh "" -defaultIPv4 "" -defaultIPv6 ""
start agentpod-acme-api 203.0.113.4 --entrypoint /acme-dns-adapter -- -listen :8056 -challtestsrv http://agentpod-acme-dns:8055
# No nonce rejections and no validation delays: Pebble's chaos settings test clients, not this stack.
start agentpod-acme 203.0.113.2 -e PEBBLE_VA_NOSLEEP=1 -e PEBBLE_WFE_NONCEREJECT=0 -v "$tls/cert.pem:/etc/pebble/tls/cert.pem:ro" \
  -v "$tls/key.pem:/etc/pebble/tls/key.pem:ro" -p 127.0.0.1:15000:15000 -- \
  -config /etc/pebble/pebble.json -dnsserver agentpod-acme-dns:8053
for _ in $(seq 1 50); do
  curl -fsS --cacert "$tls/server-ca.pem" https://127.0.0.1:15000/roots/0 >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS --cacert "$tls/server-ca.pem" https://127.0.0.1:15000/roots/0 >/dev/null || die "agentpod-acme does not answer on 127.0.0.1:15000 (docker logs agentpod-acme)"
