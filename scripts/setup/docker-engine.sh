#!/usr/bin/env bash
# Make a Docker engine answer on this machine.
#
# Machines of this kind reach only package registries and have no systemd, so the engine
# comes from Debian's docker.io package and dockerd is started by hand in the background.
# Idempotent: if `docker info` already answers, nothing is done.
#
# Env:
#   AGENTPOD_CACHE        cache root (default ~/.cache/agentpod); dockerd logs to $AGENTPOD_CACHE/dockerd.log
#   DOCKERD_WAIT_SECONDS  how long to wait for the engine to answer (default 60)
set -euo pipefail

CACHE="${AGENTPOD_CACHE:-$HOME/.cache/agentpod}"
WAIT="${DOCKERD_WAIT_SECONDS:-60}"
LOG="$CACHE/dockerd.log"

engine_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

wait_for_engine() {
  local deadline=$((SECONDS + WAIT))
  until engine_answers; do
    if ((SECONDS >= deadline)); then
      echo "ERROR: the Docker engine did not answer within ${WAIT}s; last lines of $LOG:" >&2
      tail -n 30 "$LOG" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.5
  done
}

if engine_answers; then
  echo "==> Docker engine already answers ($(docker version --format 'server {{.Server.Version}}' 2>/dev/null)); nothing to do"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "ERROR: no Docker engine answers (docker info failed) and this script is not running as root," >&2
  echo "       so it cannot install or start one. Start a Docker engine, or run this script as root." >&2
  exit 1
fi

mkdir -p "$CACHE"

# Install Debian's engine (dockerd, containerd, runc) if it is missing. iptables is what dockerd
# uses for bridge networks and port publishing; docker.io depends on it, listed here to be explicit.
if ! command -v dockerd >/dev/null 2>&1; then
  # apt-get update only when apt knows no candidate for docker.io (fresh machine or empty lists).
  # (Output captured first: `cmd | grep -q` under pipefail fails when grep exits early.)
  policy="$(apt-cache policy docker.io 2>/dev/null || true)"
  if [[ "$policy" != *"Candidate: "[0-9]* ]]; then
    echo "==> apt-get update (no candidate for docker.io in apt's lists)"
    apt-get update -qq
  fi
  echo "==> Installing docker.io and iptables from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null
fi

# A dockerd that is already running (e.g. started a moment ago) only needs waiting for.
if [[ -s /var/run/docker.pid ]] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  echo "==> dockerd already running (pid $(cat /var/run/docker.pid)); waiting for it to answer"
else
  rm -f /var/run/docker.pid
  # Every tenant gets its own bridge network. Docker's default address pools hold about 30 networks; small /26
  # subnets from a /14 hold thousands. Written only when the machine has no daemon.json of its own.
  if [[ ! -e /etc/docker/daemon.json ]]; then
    mkdir -p /etc/docker
    echo '{"default-address-pools": [{"base": "172.20.0.0/14", "size": 26}], "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}' >/etc/docker/daemon.json
    echo "==> Wrote /etc/docker/daemon.json (address pools for many tenant networks, log rotation)"
  fi
  echo "==> Starting dockerd in the background (no systemd here); log: $LOG"
  # setsid + nohup: the engine outlives this script and the shell that ran it.
  setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
fi
wait_for_engine
echo "==> Docker engine answers ($(docker version --format 'server {{.Server.Version}}'))"
