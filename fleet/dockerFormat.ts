/**
 * Values written the way the Docker provider reads them back from the engine. Any other spelling of the same value
 * ("1" for "1.0", "60s" for "1m0s") shows up as a change on every preview, and for `cpus` and `healthcheck` a
 * change means a container replacement: a restart of the tenant on every `pulumi up`.
 */

/** NanoCPUs as the provider prints them: "1.0", "0.5", "1.25" (and, quirk included, "10." for whole tens). */
export function dockerCpus(cpus: number): string {
  const nano = BigInt(Math.round(cpus * 1e9));
  if (nano === 0n) return "0";
  const whole = nano / 1_000_000_000n;
  const fraction = (nano % 1_000_000_000n).toString().padStart(9, "0");
  const nine = `${whole}.${fraction}`;
  if ([...nine].filter((c) => c === "0").length === 9) return `${whole}.${fraction.slice(0, 1)}`;
  return nine.replace(/0+$/, "");
}

/** A duration as Go's time.Duration prints it: "5s", "1m0s", "1m30s". */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`whole seconds expected, got ${seconds}`);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
