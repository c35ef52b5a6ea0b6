# Shared by the setup scripts: where the cache lives and how steps report.
# Everything slow is cached outside the repository, so a fresh clone on a warm machine sets up in seconds.
AGENTPOD_CACHE="${AGENTPOD_CACHE:-$HOME/.cache/agentpod}"
AGENTPOD_BIN="$AGENTPOD_CACHE/bin"
mkdir -p "$AGENTPOD_BIN"
step() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# Hash of files, to rebuild a cached binary only when its recipe changed.
recipe_hash() { cat "$@" | sha256sum | cut -c1-16; }
