/**
 * Host capacity: whether the plans of a host's tenants fit its server type. The one definition of the arithmetic,
 * shared by the validator (a file with an overfull host is refused) and by `tenant add`'s placement (which looks for
 * a host with room), so that the two cannot disagree about the same host. Pure.
 *
 * A host offers its server type's memory less HOST_RESERVED_MEMORY_BYTES (the OS, Docker, Traefik) and its vCPUs.
 * Sums are exact: memory in bytes, CPU in millionths of a core, so that the verdict does not depend on the order in
 * which tenants are added up (0.1 + 0.2 is not 0.3 in floating point).
 */
import { HOST_RESERVED_MEMORY_BYTES, serverTypeOf, type PlanSpec, type ServerType } from "./catalog";

/** What a host offers its tenants. */
export interface HostRoom {
  readonly serverType: ServerType;
  /** The server type's memory less the host reserve. */
  readonly memoryAvailableBytes: number;
  readonly vcpus: number;
}

/** The room a server type offers, or undefined for a type AgentPod does not know. */
export function hostRoom(serverTypeName: string): HostRoom | undefined {
  const serverType = serverTypeOf(serverTypeName);
  if (!serverType) return undefined;
  return { serverType, memoryAvailableBytes: serverType.memoryBytes - HOST_RESERVED_MEMORY_BYTES, vcpus: serverType.vcpus };
}

/** What a set of tenants uses. */
export interface HostUsage {
  readonly memoryBytes: number;
  readonly cpus: number;
}

const MICRO = 1_000_000;
const micro = (cpus: number) => Math.round(cpus * MICRO);

/** The sum of the plans' memory and CPU, the same whatever their order. */
export function usageOf(plans: Iterable<Pick<PlanSpec, "cpus" | "memoryBytes">>): HostUsage {
  let memoryBytes = 0;
  let microCpus = 0;
  for (const plan of plans) {
    memoryBytes += plan.memoryBytes;
    microCpus += micro(plan.cpus);
  }
  return { memoryBytes, cpus: microCpus / MICRO };
}

export interface CapacityVerdict {
  /** Whether the usage fits: memory and CPU both within what the host offers. */
  readonly fits: boolean;
  readonly memoryOver: boolean;
  readonly cpuOver: boolean;
}

export function capacityVerdict(usage: HostUsage, room: HostRoom): CapacityVerdict {
  const memoryOver = !(usage.memoryBytes <= room.memoryAvailableBytes);
  const cpuOver = micro(usage.cpus) > micro(room.vcpus);
  return { fits: !memoryOver && !cpuOver, memoryOver, cpuOver };
}

/** CPU cores for messages: at most two decimals ("2.5", "0.33"). */
export const formatCpus = (cpus: number) => String(Math.round(cpus * 100) / 100);
