import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";

export interface TenantDnsArgs {
  /** Cloudflare zone id of the fleet's zone. */
  readonly zoneId: pulumi.Input<string>;
  /** Full record name without a trailing dot (relative names caused perpetual diffs in provider v5). */
  readonly domain: string;
  /** The host's public IPv4 address. */
  readonly ipv4: pulumi.Input<string>;
  /** The host's public IPv6 address, when it has one: an AAAA record is created for it. */
  readonly ipv6?: pulumi.Input<string | undefined>;
  /** Proxy through Cloudflare. Default false; when true, Traefik must use the DNS-01 challenge. */
  readonly proxied?: boolean;
  /** Cloudflare provider; the default one (configured with cloudflare:apiToken) when absent. */
  readonly provider?: cloudflare.Provider;
}

/** A tenant's public name: A (and AAAA) records for its domain, pointing at its host. */
export class TenantDns extends pulumi.ComponentResource {
  readonly records: cloudflare.DnsRecord[];

  constructor(name: string, args: TenantDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentpod:index:TenantDns", name, {}, opts);
    const proxied = args.proxied ?? false;
    const record = (type: "A" | "AAAA", content: pulumi.Input<string>) =>
      new cloudflare.DnsRecord(
        `${name}-${type.toLowerCase()}`,
        { zoneId: args.zoneId, name: args.domain, type, content, ttl: 1, proxied, comment: "managed by AgentPod" },
        // zoneId or type changes replace the record; the new one would collide with the old one's name.
        { parent: this, deleteBeforeReplace: true, ...(args.provider ? { provider: args.provider } : {}) },
      );
    this.records = [record("A", args.ipv4)];
    if (args.ipv6 !== undefined) this.records.push(record("AAAA", pulumi.output(args.ipv6).apply((ip) => ip ?? "")));
    this.registerOutputs({ names: this.records.map((r) => r.name) });
  }
}
