/**
 * What the operator sees of an engine run: its output as it streams, and each error once, in the CLI's final message.
 *
 * The SDK's server for inline programs reports a program's error twice: its unhandled-rejection handler logs it, and
 * it returns it as the run's result, which the engine prints as a second diagnostic of the stack. The Automation
 * API's exception then carries the engine's whole output once more, and the CLI prints the errors from it (on
 * stderr, for `up` as for `preview`, whose diff output shows no diagnostics while it streams). So the streamed
 * output leaves the errors out of its Diagnostics, and the final message lists each error block once. Pure text.
 */

/** The engine's output without the `error:` diagnostics (the final message has them) and without repeated lines. */
export class EngineOutputFilter {
  private partial = "";
  /** The Diagnostics section, held until it ends: what remains of it once its errors are out is printed. */
  private diagnostics: string[] | undefined;
  private previous: string | undefined;

  /** Text to print for this chunk of output (complete lines only; the rest waits for the next chunk or end()). */
  push(chunk: string): string {
    const lines = (this.partial + chunk).split("\n");
    this.partial = lines.pop()!;
    return lines.map((line) => this.line(line)).join("");
  }

  /** Whatever is still held back, at the end of the output. */
  end(): string {
    const rest = this.partial;
    this.partial = "";
    return this.flushDiagnostics() + rest;
  }

  private line(line: string): string {
    if (this.diagnostics && (line === "" || line.startsWith(" "))) {
      this.diagnostics.push(line);
      return "";
    }
    const out = this.flushDiagnostics();
    if (line === "Diagnostics:") {
      this.diagnostics = [];
      return out;
    }
    // The progress display repeats a resource's line for each of its diagnostics: the same error once is enough.
    if (line === this.previous && / error: /.test(line)) return out;
    this.previous = line;
    return `${out}${line}\n`;
  }

  /** The Diagnostics section without its error blocks, and without the resources left with nothing to say. */
  private flushDiagnostics(): string {
    if (!this.diagnostics) return "";
    const kept: string[] = [];
    let resource: string | undefined;
    let errorIndent: number | undefined;
    for (const line of this.diagnostics) {
      const indent = /^ */.exec(line)![0].length;
      if (errorIndent !== undefined && line.trim() !== "" && indent > errorIndent) continue; // inside an error block
      errorIndent = undefined;
      if (/^\s+error: /.test(line)) errorIndent = indent;
      else if (indent === 2 && line.trim().endsWith(":")) resource = line;
      else if (line.trim() !== "") {
        if (resource !== undefined) kept.push(resource);
        resource = undefined;
        kept.push(line);
      }
    }
    this.diagnostics = undefined;
    return kept.length > 0 ? ["Diagnostics:", ...kept, ""].join("\n") + "\n" : "";
  }
}

/** The `error:` lines of engine output with the lines indented under them, each block once; undefined when none. */
export function engineErrorText(raw: string): string | undefined {
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const line of raw.split("\n")) {
    if (/^\s*error: /.test(line)) {
      current = [line.trim()];
      blocks.push(current.join("\n"));
    } else if (current && /^\s{2,}\S/.test(line)) {
      current.push(line.replace(/^\s+/, "  "));
      blocks[blocks.length - 1] = current.join("\n");
    } else current = undefined;
  }
  const unique = [...new Set(blocks)];
  return unique.length > 0 ? unique.join("\n") : undefined;
}
