#!/bin/sh
# PID 1's child in a local server: the server's Docker engine. Its API is a unix socket in /agentpod/api, a
# directory this machine bind-mounts, so only root on this machine reaches it (no TCP port, no other container).
# /etc/docker/daemon.json is written by the program at create (address pools, registry mirror).
set -eu
mkdir -p /agentpod/api /mnt/agentpod
rm -f /agentpod/api/docker.sock /var/run/docker.pid /var/run/docker/containerd/containerd.pid
# The tenants' disks (installed by the readiness gate, fleet/tenantDisks.ts) are mounted before the engine restarts
# the gateways: a gateway whose disk did not mount fails to start instead of starting on an empty directory.
[ ! -x /usr/local/sbin/agentpod-tenant-disks ] || /usr/local/sbin/agentpod-tenant-disks || echo "agentpod-server: a tenant disk did not mount" >&2
# iptables rules live in the server's network namespace, which a restart makes anew: once the engine answers, the
# tenant fence that the readiness gate installed (fleet/hostFirewall.ts) is applied again.
( for i in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then [ ! -x /usr/local/sbin/agentpod-fence ] || /usr/local/sbin/agentpod-fence; exit 0; fi
    sleep 1
  done ) &
# The server's /proc/sys is read-only (it is not privileged: toolchain notes), so Docker 26 cannot turn IPv6 off on a
# container's interface of an IPv4-only network and would refuse to start the container; it may leave it on.
export DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1
exec dockerd --host unix:///agentpod/api/docker.sock --host unix:///var/run/docker.sock --config-file /etc/docker/daemon.json
