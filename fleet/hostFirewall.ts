/**
 * The fence around tenants, as a script every host runs (the readiness gate installs it, production hosts run it
 * again at boot, local servers when their engine starts): a tenant reaches the internet, its own network and nothing
 * else. Docker already keeps bridge networks apart (a tenant cannot open a connection into another tenant's network
 * or the proxy's edge network); what it does not stop is traffic from a container to the host itself (INPUT: sshd,
 * the engine, anything listening there, through the bridge's gateway address or any other address of the host) and
 * forwarded traffic to link-local and private addresses (the cloud metadata service 169.254.169.254, the provider's
 * private networks, a local server's neighbours such as the registry). Hetzner's firewall filters what arrives from
 * outside, never this path.
 *
 * What stays open: replies to connections the host or the outside opened (the proxy's published ports, DNAT'd to it),
 * traffic between the members of one network (the proxy and its tenant's gateway: Docker's own rules decide traffic
 * into a Docker bridge), and everything else outbound (model APIs, the proxy's ACME). Tenant networks have no IPv6.
 * Pure text; the same on both targets.
 */

/** Where the readiness gate installs the fence script on a host. */
export const FENCE_SCRIPT_PATH = "/usr/local/sbin/agentpod-fence";

/** Destinations no container may open a connection to, whatever the host: link-local (metadata) and private. */
export const FENCED_DESTINATIONS = ["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"] as const;

/** Docker names the bridges of user-defined networks (every tenant's and the proxy's) br-<id>. */
const CONTAINER_BRIDGES = "br+";

/**
 * The fence itself: two chains of AgentPod's own, rebuilt from scratch on every run (idempotent), and one jump into
 * each from DOCKER-USER (forwarded traffic; Docker evaluates it before its own rules and never flushes it) and INPUT.
 */
export function renderFenceScript(): string {
  return [
    "#!/bin/sh",
    "# AgentPod: tenants reach the internet and their own network, not the host, the metadata service or private ranges.",
    "set -eu",
    "chain() { iptables -N \"$1\" 2>/dev/null || iptables -F \"$1\"; }",
    "jump() { iptables -C \"$1\" -i " + CONTAINER_BRIDGES + " -j \"$2\" 2>/dev/null || iptables -I \"$1\" 1 -i " + CONTAINER_BRIDGES + " -j \"$2\"; }",
    "iptables -N DOCKER-USER 2>/dev/null || true",
    "chain AGENTPOD-FORWARD",
    "iptables -A AGENTPOD-FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN",
    `iptables -A AGENTPOD-FORWARD -o ${CONTAINER_BRIDGES} -j RETURN`,
    ...FENCED_DESTINATIONS.map((cidr) => `iptables -A AGENTPOD-FORWARD -d ${cidr} -j DROP`),
    "chain AGENTPOD-INPUT",
    "iptables -A AGENTPOD-INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN",
    "iptables -A AGENTPOD-INPUT -j DROP",
    "jump DOCKER-USER AGENTPOD-FORWARD",
    "jump INPUT AGENTPOD-INPUT",
    "",
  ].join("\n");
}

/**
 * Installs the fence script and runs it; on a host with systemd (production) also a unit that runs it at boot after
 * Docker, since iptables rules do not survive a reboot. Part of the readiness script.
 */
export function installFenceCommands(): string[] {
  return [
    `cat > ${FENCE_SCRIPT_PATH}.tmp <<'AGENTPOD_FENCE'\n${renderFenceScript()}AGENTPOD_FENCE`,
    `chmod 755 ${FENCE_SCRIPT_PATH}.tmp && mv -f ${FENCE_SCRIPT_PATH}.tmp ${FENCE_SCRIPT_PATH}`,
    FENCE_SCRIPT_PATH,
    "if [ -d /run/systemd/system ]; then",
    "  printf '[Unit]\\nDescription=AgentPod tenant fence\\nAfter=docker.service\\nRequires=docker.service\\n[Service]\\nType=oneshot\\nExecStart=" +
      FENCE_SCRIPT_PATH +
      "\\n[Install]\\nWantedBy=multi-user.target\\n' > /etc/systemd/system/agentpod-fence.service",
    "  systemctl daemon-reload && systemctl enable agentpod-fence.service >/dev/null 2>&1",
    "fi",
  ];
}
