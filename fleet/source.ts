/**
 * tenants.yaml as text: parsing with positions, so every problem can be reported at file:line:column. This is the
 * only module that knows YAML; everything after it works on plain data.
 */
import { CST, Composer, Lexer, LineCounter, Parser, YAMLParseError, isAlias, isCollection, isMap, isPair, isScalar, isSeq, parseDocument, visit, type Alias, type Pair, type Document, type Node } from "yaml";
import { formatPath, type Issue } from "./issues";

export class TenantsSource {
  readonly document: Document.Parsed;
  private readonly lines = new LineCounter();
  /** Why the text was not given to the YAML library at all (too large, nested too deeply), if it was not. */
  private readonly refusal: Issue | undefined;

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    const parsed = sizeIssue(file, text) ?? parseBounded(file, text, this.lines);
    this.refusal = "refusal" in parsed ? parsed.refusal : undefined;
    this.document = "document" in parsed ? parsed.document : parseDocument("");
  }

  /** YAML syntax errors (bad indentation, duplicate keys, tabs...), each with its own position. */
  syntaxIssues(): Issue[] {
    if (this.refusal) return [this.refusal];
    const errors = this.document.errors.map((error) => {
      const { line, col } = this.lines.linePos(error.pos[0]);
      return { file: this.file, line, column: col, path: "", message: syntaxMessage(error.code, error.message) };
    });
    return [...errors, ...this.keyIssues()].sort((a, b) => a.line - b.line || a.column - b.column);
  }

  /**
   * Keys that cannot become plain data: a key given twice in one mapping (the later one would silently win), and a
   * list or mapping used as a key (it would become its own text, "[ a ]"). One pass over every mapping.
   */
  private keyIssues(): Issue[] {
    const issues: Issue[] = [];
    visit(this.document, {
      Map: (_, map) => {
        const seen = new Set<unknown>();
        for (const pair of map.items) {
          const key = pair.key;
          if (isScalar(key)) {
            if (seen.has(key.value)) issues.push(this.issueAtOffset(key.range?.[0] ?? 0, [], `key "${String(key.value)}" appears twice in the same mapping: keep one`));
            seen.add(key.value);
          } else if (isCollection(key)) {
            issues.push(this.issueAtOffset(key.range?.[0] ?? 0, [], "a key must be a name, not a list or mapping: write `name: value`"));
          }
        }
      },
    });
    return issues;
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
    // The library resolves each alias by scanning every anchor and alias before it (40,000 anchors and 9,000 aliases
    // took 11 s). So each alias is replaced first, in one pass over a copy, by a copy of the node it refers to (the
    // last anchor of its name before it, complete by then: aliasIssues() refused an alias inside its own anchor and
    // bounded what all of them expand to, which bounds the copying too).
    const copy = this.document.clone();
    const anchors = new Map<string, Node>();
    visit(copy, {
      Node: (_, node) => void (node.anchor && anchors.set(node.anchor, node)),
      Alias: (_, alias) => anchors.get(alias.source)?.clone() as Node | undefined,
    });
    // Without aliases left, the library's limit on them (which would refuse `image: *img` used 100 times) has no work.
    return copy.toJS({ maxAliasCount: -1 });
  }

  /** An issue at the value of `path`, or at the closest enclosing node when the value is missing. */
  issueAt(path: readonly PropertyKey[], message: string): Issue {
    return this.issueAtOffset(this.offsetOf(path), path, message);
  }

  /** An issue at the key (not the value) of the last element of `path`, for unknown or misplaced keys. */
  issueAtKey(path: readonly PropertyKey[], message: string): Issue {
    const pair = this.pairAt(this.nodeAt(path.slice(0, -1)), path[path.length - 1]!);
    const range = isScalar(pair?.key) ? pair.key.range : undefined;
    return range ? this.issueAtOffset(range[0], path, message) : this.issueAt(path, message);
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

  /** The node at a path of keys and indexes, as document.getIn finds it, without its linear search per key. */
  private nodeAt(path: readonly PropertyKey[]): unknown {
    let node: unknown = this.document.contents;
    for (const key of path) {
      if (isMap(node)) node = this.pairAt(node, key)?.value;
      else if (isSeq(node) && typeof key === "number") node = node.items[key];
      else return undefined;
    }
    return node;
  }

  /**
   * A mapping's pair with this key (the first, as getIn finds it), through an index built on first use: a file with
   * thousands of problems in one mapping must not search it once per problem.
   */
  private pairAt(map: unknown, key: PropertyKey): Pair | undefined {
    if (!isMap(map)) return undefined;
    let index = this.pairIndex.get(map);
    if (!index) {
      index = new Map();
      for (const pair of map.items) if (isScalar(pair.key) && !index.has(pair.key.value)) index.set(pair.key.value, pair);
      this.pairIndex.set(map, index);
    }
    return index.get(key);
  }
  private readonly pairIndex = new WeakMap<object, Map<unknown, Pair>>();

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
function syntaxMessage(code: string, message: string): string {
  const text = message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  switch (code) {
    case "MULTIPLE_DOCS":
      return "the file must hold one YAML document: remove the extra `---` separator";
    case "TAB_AS_INDENT":
      return "tabs cannot indent YAML: use spaces";
    default:
      return `YAML syntax: ${text}`;
  }
}

/** A tenants file longer than this (in characters) is refused unread: about ten times the largest fleet one stack can hold. */
export const MAX_TENANTS_FILE_LENGTH = 1024 * 1024;
/** Nesting deeper than this is refused before parsing; a tenants file needs 4 levels (tenants, an entry, a field, a value). */
export const MAX_NESTING = 64;

function sizeIssue(file: string, text: string): { refusal: Issue } | undefined {
  if (text.length <= MAX_TENANTS_FILE_LENGTH) return undefined;
  const message = `the file has ${text.length} characters, more than the ${MAX_TENANTS_FILE_LENGTH} a tenants file may have (about 10,000 tenants): split the fleet into one stack per group of hosts (README, Known limit)`;
  return { refusal: { file, line: 1, column: 1, path: "", message } };
}

/**
 * parseDocument, with nesting bounded on the way: the library's parser takes time quadratic in the nesting depth and
 * its composer recurses once per level (a file of 10,000 `[` overflows the stack), so the tokens stop reaching the
 * parser at the first one that nests deeper than MAX_NESTING. Duplicate keys are left to keyIssues(): the library's
 * own check compares each key with every key before it (quadratic in a mapping's size).
 */
function parseBounded(file: string, text: string, lines: LineCounter): { document: Document.Parsed } | { refusal: Issue } {
  // Lines are where the text has "\n", counted here: the parser reports the newlines inside a multi-line scalar only
  // when it is not recovering from an error, so after one its positions pointed past the ends of lines.
  lines.addNewLine(0);
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lines.addNewLine(i + 1);
  const parser = new Parser();
  const depth = nestingBound();
  let tooDeep: number | undefined;
  function* tokens(): Generator<CST.Token> {
    for (const lexeme of new Lexer().lex(text)) {
      tooDeep = depth(lexeme);
      if (tooDeep !== undefined) break;
      yield* parser.next(lexeme);
    }
    yield* parser.end();
  }
  let document: Document.Parsed | undefined;
  for (const next of new Composer({ uniqueKeys: false }).compose(tokens(), true, text.length)) {
    if (!document) document = next;
    else {
      document.errors.push(new YAMLParseError(next.range.slice(0, 2) as [number, number], "MULTIPLE_DOCS", "Source contains multiple documents"));
      break;
    }
  }
  if (tooDeep === undefined) return { document: document! };
  const before = text.slice(0, tooDeep);
  const line = before.split("\n").length;
  const column = tooDeep - before.lastIndexOf("\n");
  const message = `values nest more than ${MAX_NESTING} levels deep here, and a tenants file needs 4 (tenants: - name: value): close the [ and { opened before this point, or remove the extra "- " and "? "`;
  return { refusal: { file, line, column, path: "", message } };
}

/**
 * Feeds on the lexer's tokens and answers the offset of the first one at which the nesting may exceed MAX_NESTING.
 * An upper bound, never an underestimate: every block level opened by indentation counts twice (a list may sit at
 * its key's indentation), every `- `, `? ` and `: ` on the current line once, every open `[` and `{` once and once
 * more for each `:` of its current entry (`{ a: b: c: ...` nests once per `:`; found by the property test). Quoted
 * scalars, comments and block scalars are single tokens.
 */
function nestingBound(): (lexeme: string) => number | undefined {
  const indents: number[] = [];
  const flow: number[] = []; // per open `[` or `{`: the `:` of its current entry (`a: b: c:` nests once per `:`)
  let pairs = 0;
  let inline = 0;
  let lineStart = true;
  let indent = 0;
  let offset = 0;
  let scalarNext = false;
  return (lexeme) => {
    if (scalarNext) {
      // The content of a scalar, whatever its characters: one value, already counted at its marker.
      scalarNext = false;
      offset += lexeme.length;
      return undefined;
    }
    const type = CST.tokenType(lexeme);
    if (type === "doc-mode" || type === "flow-error-end") return undefined; // markers the lexer inserts, not text
    const at = offset;
    // A scalar is announced by a marker that is not text either; its content is the next lexeme.
    if (type === "scalar") scalarNext = true;
    else offset += lexeme.length;
    switch (type) {
      case "newline":
        lineStart = true;
        indent = 0;
        inline = 0;
        return undefined;
      case "space":
        if (lineStart) indent = lexeme.length;
        return undefined;
      case "comment":
      case "byte-order-mark":
        return undefined;
    }
    if (lineStart && flow.length === 0) {
      while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
    }
    lineStart = false;
    switch (type) {
      case "seq-item-ind":
      case "explicit-key-ind":
        inline++;
        break;
      case "map-value-ind":
        if (flow.length === 0) inline++;
        else {
          flow[flow.length - 1]!++;
          pairs++;
        }
        break;
      case "comma":
        if (flow.length > 0) {
          pairs -= flow[flow.length - 1]!;
          flow[flow.length - 1] = 0;
        }
        break;
      case "flow-map-start":
      case "flow-seq-start":
        flow.push(0);
        break;
      case "flow-map-end":
      case "flow-seq-end":
        pairs -= flow.pop() ?? 0;
        break;
    }
    return 2 * indents.length + inline + flow.length + pairs > MAX_NESTING ? at : undefined;
  };
}

/**
 * The text of a tenants file from its bytes, or an issue at the first byte that is not UTF-8. Decoding with
 * replacement (what readFileSync(file, "utf8") does) would turn a Latin-1 "é" into U+FFFD without a word, and an
 * edit by the CLI would then write the replacement back over the operator's byte. A byte-order mark is kept.
 */
export function decodeTenantsFile(file: string, bytes: Uint8Array): { text: string } | { issue: Issue } {
  try {
    return { text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    // Walk the replacing decoding beside the bytes to the first U+FFFD that the bytes do not spell (EF BF BD).
    let offset = 0;
    let line = 1;
    let column = 1;
    for (const char of new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes)) {
      const code = char.codePointAt(0)!;
      if (code === 0xfffd && !(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) break;
      offset += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      if (char === "\n") [line, column] = [line + 1, 1];
      else column += char.length;
    }
    const byte = (bytes[offset] ?? 0).toString(16).padStart(2, "0");
    return { issue: { file, line, column, path: "", message: `the file is not UTF-8 text (byte 0x${byte} here): save it as UTF-8` } };
  }
}
