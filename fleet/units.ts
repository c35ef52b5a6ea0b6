import { GiB, MiB } from "./catalog";

const MEMORY_PATTERN = /^(\d+(?:\.\d+)?)(Mi|Gi)$/;

/** Parses a Kubernetes-style binary quantity ("512Mi", "2Gi", "1.5Gi") into bytes; undefined when malformed. */
export function parseMemory(text: string): number | undefined {
  const match = MEMORY_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  return Math.round(amount * (match[2] === "Gi" ? GiB : MiB));
}

const DISK_PATTERN = /^(\d+(?:\.\d+)?)(Mi|Gi|Ti)$/;

/** Parses a disk size ("512Mi", "10Gi", "1Ti") into whole bytes; undefined when malformed. */
export function parseDisk(text: string): number | undefined {
  const match = DISK_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const unit = match[2] === "Ti" ? 1024 * GiB : match[2] === "Gi" ? GiB : MiB;
  return Math.round(Number(match[1]) * unit);
}

/** Formats bytes the way tenants.yaml writes them, for error messages ("2Gi", "1536Mi"). */
export function formatMemory(bytes: number): string {
  if (bytes % GiB === 0) return `${bytes / GiB}Gi`;
  return `${Math.round(bytes / MiB)}Mi`;
}

/** Suggests the spelling tenants.yaml accepts for a near miss such as "2G", "2GB", "2048" or "2 gi". */
export function suggestMemory(text: string): string | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = match[2]!.toLowerCase();
  if (["g", "gb", "gi", "gib"].includes(unit)) return `${match[1]}Gi`;
  if (["m", "mb", "mi", "mib"].includes(unit)) return `${match[1]}Mi`;
  if (unit === "") return `${match[1]}Mi`;
  return undefined;
}

/** A size for people ("12.3 MiB"), in binary units. */
export function formatBytes(bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(1)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;
}
