/**
 * tenants.yaml as text: parsing with positions, so every problem can be reported at file:line:column. This is the
 * only module that knows YAML; everything after it works on plain data.
 */
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Alias, type Document, type Node } from "yaml";
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

  /**
   * Problems with anchors (`&a`) and aliases (`*a`), each at its alias: an alias without an anchor before it, an
   * alias inside the value it refers to (endless), and aliases that expand to too much (a "billion laughs" file of
   * nested aliases stands for more values than the machine has memory). Checked before data() builds the values.
   */
  aliasIssues(): Issue[] {
    const uses = this.aliasUses();
    const issues: Issue[] = [];
    for (const use of uses) {
      const name = use.alias.source;
      if (!use.target) {
        issues.push(this.issueAtOffset(use.offset, use.path, `alias *${name} refers to no anchor: put &${name} on a value before it, or write the value out`));
      } else if (use.cyclic) {
        issues.push(this.issueAtOffset(use.offset, use.path, `alias *${name} is inside the value &${name} that it refers to, which makes that value endless: write the values out`));
      }
    }
    if (issues.length > 0) return issues;

    let expanded = 0;
    let largest: AliasUse | undefined;
    for (const use of uses) {
      expanded += use.size;
      if (!largest || use.size > largest.size) largest = use;
    }
    if (expanded <= MAX_ALIAS_EXPANSION) return [];
    const use = largest!;
    return [
      this.issueAtOffset(
        use.offset,
        use.path,
        `anchors and aliases are expanded too often (*${use.alias.source} alone stands for ${countText(use.size)} values; all aliases together may stand for at most ${MAX_ALIAS_EXPANSION}): write the values out instead of repeating them through aliases`,
      ),
    ];
  }

  /** The file as plain data. Call it only when syntaxIssues() and aliasIssues() are empty. */
  data(): unknown {
    // aliasIssues() has bounded what the aliases expand to; the library's own, coarser limit would refuse a file
    // that merely uses a scalar alias (`image: *img`) more than 100 times.
    return this.document.toJS({ maxAliasCount: -1 });
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

  /**
   * Every alias in document order, with its path, the node it refers to (the last anchor of its name before it) and
   * how many values it stands for. One pass: an alias refers to a node before it, which is complete by then unless
   * the alias is inside it (cyclic), so each node's expanded size is known when an alias needs it.
   */
  private aliasUses(): AliasUse[] {
    const uses: AliasUse[] = [];
    const anchors = new Map<string, Node>();
    const sizes = new Map<unknown, number>();
    const ancestors = new Set<unknown>();
    /** How many values the node stands for with its aliases expanded (a scalar: 1). */
    const walk = (node: unknown, path: PropertyKey[]): number => {
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        const cyclic = target !== undefined && ancestors.has(target);
        const size = target === undefined || cyclic ? 0 : (sizes.get(target) ?? 1);
        uses.push({ alias: node, path, offset: node.range?.[0] ?? 0, target, cyclic, size });
        return size;
      }
      if (!isScalar(node) && !isMap(node) && !isSeq(node)) return 0;
      if (node.anchor) anchors.set(node.anchor, node);
      if (isScalar(node)) return 1;
      ancestors.add(node);
      let size = 1;
      if (isMap(node)) {
        for (const item of node.items) {
          size += walk(item.key, path);
          size += walk(item.value, [...path, isScalar(item.key) ? (item.key.value as PropertyKey) : String(item.key)]);
        }
      } else node.items.forEach((item, i) => (size += walk(item, [...path, i])));
      ancestors.delete(node);
      sizes.set(node, size);
      return size;
    };
    walk(this.document.contents, []);
    return uses;
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

/** At most this many values may come from expanding aliases, in all (a file with no aliases has none). */
export const MAX_ALIAS_EXPANSION = 10_000;

interface AliasUse {
  readonly alias: Alias;
  readonly path: PropertyKey[];
  readonly offset: number;
  /** The anchored node it refers to; undefined when there is no anchor of that name before it. */
  readonly target: Node | undefined;
  /** Whether the alias lies inside the node it refers to. */
  readonly cyclic: boolean;
  /** How many values the alias stands for, its own aliases expanded (0 when unresolved or cyclic). */
  readonly size: number;
}

const countText = (n: number) => (n > 1e12 ? "more than a trillion" : String(n));

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
