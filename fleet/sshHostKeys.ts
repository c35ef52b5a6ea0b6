/**
 * Pinned SSH host keys, as plain data. The program generates each Hetzner host's SSH host key pair
 * (providers/hostSshKey.ts; the private key is a secret), hands it to the server through cloud-init, and every SSH
 * client it drives verifies the server against that key and nothing else: no trust on first use, no
 * ~/.ssh/known_hosts of whoever runs the deploy. ECDSA P-256: OpenSSH reads its private key in the PEM form Node.js
 * writes, and the public key's wire format is short enough to build here.
 */

/** The one host key algorithm AgentPod pins. */
export const HOST_KEY_ALGORITHM = "ecdsa-sha2-nistp256";

/** RFC 4251 string: a 4-byte big-endian length, then the bytes. */
function sshString(bytes: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, Buffer.from(bytes)]);
}

/**
 * The OpenSSH public key line ("ecdsa-sha2-nistp256 AAAA...") of a P-256 key from its JWK coordinates (RFC 5656:
 * the algorithm name, the curve name, and the uncompressed point 0x04 || x || y).
 */
export function openSshPublicKey(jwk: { crv?: string; x?: string; y?: string }): string {
  if (jwk.crv !== "P-256" || !jwk.x || !jwk.y) throw new Error("expected a P-256 public key (JWK with crv P-256, x and y)");
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
  if (point.length !== 65) throw new Error("a P-256 point has 32-byte coordinates");
  const blob = Buffer.concat([sshString(Buffer.from(HOST_KEY_ALGORITHM)), sshString(Buffer.from("nistp256")), sshString(point)]);
  return `${HOST_KEY_ALGORITHM} ${blob.toString("base64")}`;
}

/** A known_hosts line for one host. */
export const knownHostsLine = (address: string, publicKey: string) => `${address} ${publicKey}`;

/**
 * The options that make an OpenSSH client (7.x has none of this; 8.5+ has KnownHostsCommand) accept exactly the pinned
 * key: strict checking, no known_hosts file of the user or the system, the pinned key supplied for whatever name the
 * client looks up (%H), and that key's algorithm only. A server presenting any other key is refused.
 */
export function pinnedHostKeyOptions(publicKey: string): string[] {
  if (!/^ecdsa-sha2-nistp256 [A-Za-z0-9+/]+=*$/.test(publicKey)) throw new Error(`not a pinned host key: ${publicKey.slice(0, 40)}`);
  return [
    "-o", "StrictHostKeyChecking=yes",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", `KnownHostsCommand=/bin/echo %H ${publicKey}`,
    "-o", `HostKeyAlgorithms=${HOST_KEY_ALGORITHM}`,
  ];
}

/** One multiplexed connection per host: many parallel sessions would trip sshd's MaxStartups. */
export const SSH_MULTIPLEXING = ["-o", "ControlMaster=auto", "-o", "ControlPath=~/.ssh/agentpod-%C", "-o", "ControlPersist=120"];
