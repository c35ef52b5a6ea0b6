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
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`;
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
