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
  const text = visible(issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`);
  // A message may quote a value or list names from the file: a 1 MB value makes a 1 MB line otherwise.
  return text.length <= MAX_ISSUE_LENGTH ? text : `${text.slice(0, MAX_ISSUE_LENGTH)}... (${text.length - MAX_ISSUE_LENGTH} more characters)`;
}

/** Characters of one printed problem; the position and the start of the message always fit. */
export const MAX_ISSUE_LENGTH = 1_000;

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
