/**
 * Recognises values and keys that look like credentials. tenants.yaml is committed to Git, so a secret there is a
 * leak; the check errs on the side of refusing, and the message says where the secret belongs instead.
 */

/** Formats that are credentials by construction: a value in one of them is a secret whatever field it is in. */
const SECRET_FORMATS: readonly RegExp[] = [
  /^sk-ant-[A-Za-z0-9_-]{8,}/, // Anthropic
  /^sk-(proj-|svcacct-)?[A-Za-z0-9_-]{20,}$/, // OpenAI and look-alikes
  /^sk-or-v1-[0-9a-f]{20,}$/, // OpenRouter
  /^(ghp|gho|ghs|ghu|ghr|github_pat)_[A-Za-z0-9_]{20,}$/, // GitHub
  /^xox[abposr]-[A-Za-z0-9-]{10,}$/, // Slack
  /^AKIA[0-9A-Z]{16}$/, // AWS access key id
  /^AIza[0-9A-Za-z_-]{35}$/, // Google API key
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/, // PEM private keys
  /^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$/, // JWT
];

/** Long hex strings: gateway tokens and API keys, but also what a long name made of a-f letters looks like. */
const LONG_HEX = /^[0-9a-f]{40,}$/i;

/** Long strings mixing cases and digits with no separators that names, domains and image references have. */
function looksHighEntropy(value: string): boolean {
  if (value.length < 32 || /[\s./:@]/.test(value)) return false;
  return /[a-z]/.test(value) && /[A-Z]/.test(value) && /[0-9]/.test(value);
}

/**
 * Why a value looks like a secret: "format" for a known credential format (certain), "shape" for a guess from its
 * shape (long hex, high entropy). A guess yields to a more specific rule the value already breaks (a name that is
 * too long is reported as too long); a known format does not.
 */
export function secretValueMatch(value: unknown): "format" | "shape" | undefined {
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (SECRET_FORMATS.some((pattern) => pattern.test(text))) return "format";
  if (LONG_HEX.test(text) || looksHighEntropy(text)) return "shape";
  return undefined;
}

export function looksLikeSecretValue(value: unknown): boolean {
  return secretValueMatch(value) !== undefined;
}

const SECRET_KEY = /(api[-_]?key|secret|token|passw(or)?d|credential|private[-_]?key|auth)/i;

export function looksLikeSecretKey(key: unknown): boolean {
  return typeof key === "string" && SECRET_KEY.test(key);
}

export const SECRET_ADVICE =
  "secrets never go in tenants.yaml (it is committed to Git). Model API keys are Pulumi config secrets, one per tenant: " +
  "`pulumi config set --secret --path 'agentpod:tenantModelKeys.<tenant>'` (see README, Deploy to Hetzner); gateway tokens are generated per tenant.";
