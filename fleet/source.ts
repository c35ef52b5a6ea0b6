/**
 * tenants.yaml as text: parsing with positions, so every problem can be reported at file:line:column. This is the
 * only module that knows YAML; everything after it works on plain data.
 */
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from "yaml";
import { formatPath, type Issue } from "./issues";

export class TenantsSource {
  readonly document: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.document = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
  }

  /** YAML syntax errors (bad indentation, duplicate keys, tabs...), each with its own position. */
  syntaxIssues(): Issue[] {
    return this.document.errors.map((error) => {
      const { line, col } = this.lines.linePos(error.pos[0]);
      return { file: this.file, line, column: col, path: "", message: syntaxMessage(error.code, error.message, this.text.slice(error.pos[0])) };
    });
  }

  data(): unknown {
    return this.document.toJS({ maxAliasCount: 100 });
  }

  /** An issue at the value of `path`, or at the closest enclosing node when the value is missing. */
  issueAt(path: readonly PropertyKey[], message: string): Issue {
    return this.issueAtOffset(this.offsetOf(path), path, message);
  }

  /** An issue at the key (not the value) of the last element of `path`, for unknown or misplaced keys. */
  issueAtKey(path: readonly PropertyKey[], message: string): Issue {
    const parent = this.nodeAt(path.slice(0, -1));
    const key = path[path.length - 1];
    if (isMap(parent)) {
      for (const item of parent.items) {
        if (isPair(item) && isScalar(item.key) && item.key.value === key && item.key.range) {
          return this.issueAtOffset(item.key.range[0], path, message);
        }
      }
    }
    return this.issueAt(path, message);
  }

  /** 1-based line of a path's value, for messages that refer to another place ("first defined on line 7"). */
  lineOf(path: readonly PropertyKey[]): number {
    return this.lines.linePos(this.offsetOf(path)).line;
  }

  /** Every scalar with its path, for checks that look at all values (secret detection). */
  *scalars(): Generator<{ path: PropertyKey[]; key: boolean; value: unknown }> {
    function* walk(node: unknown, path: PropertyKey[]): Generator<{ path: PropertyKey[]; key: boolean; value: unknown }> {
      if (isMap(node)) {
        for (const item of node.items) {
          if (!isPair(item) || !isScalar(item.key)) continue;
          const childPath = [...path, item.key.value as PropertyKey];
          yield { path: childPath, key: true, value: item.key.value };
          yield* walk(item.value, childPath);
        }
      } else if (isSeq(node)) {
        for (let i = 0; i < node.items.length; i++) yield* walk(node.items[i], [...path, i]);
      } else if (isScalar(node)) {
        yield { path, key: false, value: node.value };
      }
    }
    yield* walk(this.document.contents, []);
  }

  private nodeAt(path: readonly PropertyKey[]): unknown {
    return path.length === 0 ? this.document.contents : this.document.getIn(path as unknown[], true);
  }

  private offsetOf(path: readonly PropertyKey[]): number {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = this.nodeAt(path.slice(0, depth)) as Node | undefined;
      if (node && node.range) return node.range[0];
    }
    return 0;
  }

  private issueAtOffset(offset: number, path: readonly PropertyKey[], message: string): Issue {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col, path: formatPath(path), message };
  }
}

/** The YAML library's message, made specific where it is vague or names library functions. */
function syntaxMessage(code: string, message: string, sourceFromError: string): string {
  const text = message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  switch (code) {
    case "DUPLICATE_KEY":
      return `key "${/^[^:\s]+/.exec(sourceFromError)?.[0] ?? "?"}" appears twice in the same mapping: keep one`;
    case "MULTIPLE_DOCS":
      return "the file must hold one YAML document: remove the extra `---` separator";
    case "TAB_AS_INDENT":
      return "tabs cannot indent YAML: use spaces";
    default:
      return `YAML syntax: ${text}`;
  }
}
