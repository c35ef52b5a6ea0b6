#!/bin/sh
# PID 1's child in a local server: the server's Docker engine. Its API is a unix socket in /agentpod/api, a
# directory this machine bind-mounts, so only root on this machine reaches it (no TCP port, no other container).
# /etc/docker/daemon.json is written by the program at create (address pools, registry mirror).
set -eu
mkdir -p /agentpod/api /mnt/agentpod
rm -f /agentpod/api/docker.sock /var/run/docker.pid /var/run/docker/containerd/containerd.pid
exec dockerd --host unix:///agentpod/api/docker.sock --host unix:///var/run/docker.sock --config-file /etc/docker/daemon.json
