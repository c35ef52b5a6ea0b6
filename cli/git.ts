/**
 * The little Git the CLI needs: where the repository is, which commit a ref names, and a file's text at a commit.
 * Read-only: it runs `git rev-parse`, `git cat-file` and `git show`, never anything that changes the repository.
 */
import { spawnSync } from "node:child_process";
import { realpathSync } from "node:fs";
import * as path from "node:path";

export class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GitError";
  }
}

interface GitResult {
  status: number;
  stdout: string;
  stderr: string;
}

function git(args: string[], cwd: string): GitResult {
  const result = spawnSync("git", args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" } });
  if (result.error) throw new GitError(`cannot run git: ${result.error.message}`);
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** The work tree root of the repository that holds `dir`, or undefined outside a repository. */
export function repositoryRoot(dir: string): string | undefined {
  const result = git(["rev-parse", "--show-toplevel"], dir);
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The commit a ref names (branch, tag, remote branch, sha, HEAD~1...), or undefined when it names none. */
export function resolveCommit(ref: string, cwd: string): string | undefined {
  if (ref.startsWith("-")) return undefined;
  const result = git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`], cwd);
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The default base of a change: origin/main when the remote branch is known, else main. */
export function defaultBase(cwd: string): string | undefined {
  return ["origin/main", "main"].find((ref) => resolveCommit(ref, cwd) !== undefined);
}

/** Where a file lies in its repository: the root and the path from it, with forward slashes. */
export function locateInRepository(file: string): { root: string; pathInRepo: string } {
  const absolute = path.resolve(file);
  const dir = path.dirname(absolute);
  const root = repositoryRoot(dir);
  if (!root) throw new GitError(`${file} is not in a Git repository`);
  // Resolve symlinks on both sides (/tmp may be one), so the relative path is the one Git knows.
  const realRoot = realpathSync(root);
  const realFile = path.join(realpathSync(dir), path.basename(absolute));
  const relative = path.relative(realRoot, realFile);
  if (relative.startsWith("..") || path.isAbsolute(relative)) throw new GitError(`${file} is outside the repository at ${root}`);
  return { root, pathInRepo: relative.split(path.sep).join("/") };
}

/** A file's text at a commit, or undefined when the commit has no such file. */
export function fileAtCommit(commit: string, pathInRepo: string, cwd: string): string | undefined {
  const spec = `${commit}:${pathInRepo}`;
  const type = git(["cat-file", "-t", spec], cwd);
  if (type.status !== 0) return undefined;
  if (type.stdout.trim() !== "blob") throw new GitError(`${spec} is a ${type.stdout.trim()}, not a file`);
  const result = git(["show", spec], cwd);
  if (result.status !== 0) throw new GitError(`git show ${spec} failed: ${result.stderr.trim()}`);
  return result.stdout;
}
