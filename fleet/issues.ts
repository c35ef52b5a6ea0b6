/** A problem found in tenants.yaml, located precisely enough for an editor to jump to it. */
export interface Issue {
  readonly file: string;
  /** 1-based line and column. */
  readonly line: number;
  readonly column: number;
  /** Field path as written in messages, e.g. `tenants[2].plan`. */
  readonly path: string;
  readonly message: string;
}

export function formatIssue(issue: Issue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return visible(issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`);
}

/**
 * Control characters that came from the file (a NUL, an escape sequence, a line break in a quoted key) escaped:
 * printed raw they would drive the operator's terminal, or start a line that reads like another problem.
 */
function visible(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Thrown before any resource is registered: the file has problems, all of them are listed. */
export class TenantsFileError extends Error {
  constructor(readonly issues: readonly Issue[]) {
    const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
    super(`${issues[0]?.file ?? "tenants file"} has ${count}; nothing was changed:\n` + issues.map((i) => "  " + formatIssue(i)).join("\n"));
    this.name = "TenantsFileError";
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text;
}
