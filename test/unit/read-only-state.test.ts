/**
 * The pull-request preview holds a read-only key of the state bucket (docs/gitops.md, "A read-only preview"). This
 * proves that a preview needs no more, on the real Pulumi CLI and a real S3 server: versitygw (the local target's
 * object store, built by set-up) started on loopback with its own IAM, a bucket that a second user may only read
 * (s3:GetObject, s3:ListBucket), the stack created and updated with the owner's key, then previewed with the
 * reader's. Beside it, the control: an update with the reader's key is refused by the store (it must write a lock),
 * so the key really is read-only, and the preview wrote nothing (the bucket's listing is unchanged).
 */
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import * as pulumi from "@pulumi/pulumi";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CACHE_DIR } from "../../cli/engine";

const OWNER = { id: "stateowner", secret: "owner-secret-for-tests-only" };
const READER = { id: "statereader", secret: "reader-secret-for-tests-only" };
const BUCKET = "agentpod-state";
let server: ChildProcess | undefined;
let port = 0;
const scratch = mkdtempSync(path.join(tmpdir(), "agentpod-ro-state-"));

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port: free } = probe.address() as { port: number };
      probe.close(() => resolve(free));
    });
  });

/** A signed S3 request with curl (as scripts/setup/s3.sh makes them); returns the HTTP status and body. */
function s3(key: { id: string; secret: string }, method: string, pathAndQuery: string, body?: string): { status: number; body: string } {
  const result = spawnSync(
    "curl",
    ["-sS", "-X", method, "-w", "\n%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", `${key.id}:${key.secret}`, "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", ...(body ? ["--data-binary", body] : []), `http://127.0.0.1:${port}${pathAndQuery}`],
    { encoding: "utf8" },
  );
  if (result.status !== 0) return { status: 0, body: result.stderr }; // not answering (yet)
  const out = result.stdout;
  const status = Number(out.slice(out.lastIndexOf("\n") + 1));
  return { status, body: out.slice(0, out.lastIndexOf("\n")) };
}
const listing = () => [...s3(OWNER, "GET", `/${BUCKET}?list-type=2`).body.matchAll(/<Key>([^<]+)<\/Key>.*?<ETag>([^<]+)<\/ETag>/g)].map((m) => `${m[1]} ${m[2]}`).sort();

async function openStack(key: { id: string; secret: string }, create: boolean) {
  const workDir = mkdtempSync(path.join(scratch, "project-"));
  const envVars = {
    PULUMI_BACKEND_URL: `s3://${BUCKET}?endpoint=http://127.0.0.1:${port}&region=us-east-1&s3ForcePathStyle=true`,
    AWS_ACCESS_KEY_ID: key.id,
    AWS_SECRET_ACCESS_KEY: key.secret,
    PULUMI_CONFIG_PASSPHRASE: "passphrase-for-tests-only",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // Each run starts from a fresh runner: nothing of an earlier run on this machine.
    PULUMI_HOME: path.join(workDir, ".pulumi"),
  };
  const pulumiCommand = await PulumiCommand.get({ root: CACHE_DIR, skipVersionCheck: true });
  const args = { stackName: "prod", projectName: "readonly", program: async () => ({ token: pulumi.secret("a-secret-output"), tenants: 3 }) };
  const workspace = { workDir, envVars, pulumiCommand, projectSettings: { name: "readonly", runtime: "nodejs" as const } };
  return create ? LocalWorkspace.createOrSelectStack(args, workspace) : LocalWorkspace.selectStack(args, workspace);
}

beforeAll(async () => {
  const binary = readdirSync(path.join(CACHE_DIR, "bin")).find((f) => /^versitygw-v/.test(f));
  if (!binary) throw new Error(`no versitygw in ${path.join(CACHE_DIR, "bin")}: run scripts/setup.sh`);
  port = await freePort();
  const adminPort = await freePort();
  for (const dir of ["data", "iam"]) execFileSync("mkdir", ["-p", path.join(scratch, dir)]);
  server = spawn(path.join(CACHE_DIR, "bin", binary), ["--port", `127.0.0.1:${port}`, "--admin-port", `127.0.0.1:${adminPort}`, "--iam-dir", path.join(scratch, "iam"), "posix", path.join(scratch, "data")], {
    env: { PATH: process.env.PATH!, ROOT_ACCESS_KEY_ID: OWNER.id, ROOT_SECRET_ACCESS_KEY: OWNER.secret },
    stdio: "ignore",
  });
  for (let i = 0; i < 50 && s3(OWNER, "GET", "/").status !== 200; i++) await new Promise((r) => setTimeout(r, 200));
  execFileSync(path.join(CACHE_DIR, "bin", binary), ["admin", "--access", OWNER.id, "--secret", OWNER.secret, "--endpoint-url", `http://127.0.0.1:${adminPort}`, "create-user", "--access", READER.id, "--secret", READER.secret, "--role", "user"]);
  expect(s3(OWNER, "PUT", `/${BUCKET}`).status).toBe(200);
  const policy = {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { AWS: [READER.id] }, Action: ["s3:GetObject", "s3:ListBucket"], Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`] }],
  };
  const file = path.join(scratch, "policy.json");
  writeFileSync(file, JSON.stringify(policy));
  const put = s3(OWNER, "PUT", `/${BUCKET}?policy=`, `@${file}`);
  expect(put.body).toBe("");
  expect(put.status).toBe(204);
}, 60_000);

afterAll(() => {
  server?.kill();
  rmSync(scratch, { recursive: true, force: true });
});

describe("a preview with a read-only key of the state bucket", () => {
  test("the reader's key reads the bucket and may write nothing to it (the store enforces the policy)", () => {
    expect(s3(OWNER, "PUT", `/${BUCKET}/probe`, "x").status).toBe(200); // control: the owner may write
    expect(s3(READER, "GET", `/${BUCKET}/probe`).body).toBe("x");
    expect(s3(READER, "PUT", `/${BUCKET}/probe2`, "x").status).toBe(403);
    expect(s3(OWNER, "DELETE", `/${BUCKET}/probe`).status).toBe(204);
  });

  test("the owner creates and updates the stack; the reader previews it and writes nothing; the reader's update is refused", async () => {
    const owned = await openStack(OWNER, true);
    const up = await owned.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.tenants!.value).toBe(3);
    const before = listing();
    expect(before.some((k) => k.startsWith(".pulumi/stacks/readonly/prod.json"))).toBe(true);

    const read = await openStack(READER, false);
    const preview = await read.preview();
    expect(preview.changeSummary).toEqual({ same: 1 });
    expect(listing()).toEqual(before);

    const refused = await (await openStack(READER, false)).up().then(
      () => "applied",
      (error: unknown) => String(error),
    );
    expect(refused).toMatch(/PutObject.*StatusCode: 403|AccessDenied/);
    expect(listing()).toEqual(before);
  }, 180_000);
});
