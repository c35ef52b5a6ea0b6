/** Backups as plain data: the job's script, the repository, and what `status` makes of the status files. */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backupJobProblem, renderBackups } from "../../cli/status";
import {
  backupEnvironment,
  backupVerdict,
  formatAge,
  isBackupFailing,
  parseBackupStatus,
  parseInterval,
  renderBackupScript,
  repositoryUrl,
  type BackupRecord,
} from "../../fleet/backup";
import { backupContainerName, dockerNames } from "../../fleet/naming";

const record = (overrides: Partial<BackupRecord> = {}): BackupRecord => ({
  tenant: "alpha",
  lastRun: 1_000_000,
  lastSuccess: 1_000_000,
  snapshot: "0123456789abcdef",
  addedBytes: 4096,
  lastError: "",
  ...overrides,
});

describe("backup schedule and repository", () => {
  it("reads intervals of a minute or more, and nothing else", () => {
    expect(parseInterval("1h")).toBe(3600);
    expect(parseInterval("30m")).toBe(1800);
    expect(parseInterval("1d")).toBe(86400);
    expect(parseInterval("90s")).toBe(90);
    for (const bad of ["30s", "1", "h", "1.5h", "-1h", "1 h", ""]) expect(parseInterval(bad), bad).toBeUndefined();
  });

  it("keeps each fleet in its own repository inside the bucket (retention never reaches anything else)", () => {
    expect(repositoryUrl("https://hel1.your-objectstorage.com/", "backups", "agentpod")).toBe("s3:https://hel1.your-objectstorage.com/backups/agentpod");
    const env = backupEnvironment({ endpoint: "http://agentpod-s3:7070", bucket: "b1", fleet: "vault", schedule: { intervalSeconds: 600, keepLast: 3, keepHourly: 2, keepDaily: 7, keepWeekly: 4 } });
    expect(env).toContain("RESTIC_REPOSITORY=s3:http://agentpod-s3:7070/b1/vault");
    expect(env).toContain("BACKUP_INTERVAL=600");
    expect(env.join("\n")).not.toMatch(/SECRET|PASSWORD|ACCESS_KEY/);
  });

  it("names the backup container apart from every tenant's container", () => {
    expect(backupContainerName("agentpod")).toBe("agentpod--backup");
    expect(dockerNames("backup", "agentpod").container).not.toBe(backupContainerName("agentpod"));
  });
});

describe("the backup job's script", () => {
  const script = renderBackupScript();

  it("is valid bash", () => {
    const check = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
  });

  it("takes SQLite through its online backup, as the file's owner, and never copies -wal, -shm or -journal files", () => {
    expect(script).toContain(`sqlite3 "$s" ".timeout 10000" ".backup '$d'"`);
    expect(script).toMatch(/setpriv --reuid="\$\(stat -c %u "\$s"\)"/);
    expect(script).toContain(`-name '*-wal' -o -name '*-shm' -o -name '*-journal'`);
    expect(script).toContain(`"SQLite format 3"`);
  });

  it("creates a repository only where restic says none exists, never after an auth, bucket or password error", () => {
    const init = script.slice(script.indexOf("ensure_repo() {"), script.indexOf("# A consistent copy"));
    expect(init).toContain("Is there a repository at the following location");
    expect(init).toMatch(/! grep -qiE 'bucket\|denied\|forbidden\|access key\|signature\|password'/);
    expect(init.indexOf("restic init")).toBeGreaterThan(init.indexOf("! grep -qiE"));
    expect(init).toContain("restic unlock");
  });

  it("prunes only the snapshots of the tenants it backed up, of its own fleet, once per run; never snapshots missing or empty data", () => {
    const forget = script.slice(script.indexOf("forget_old() {"), script.indexOf("# Backs up the tenants named"));
    expect(forget).toContain(`tags+=(--tag "tenant=$t")`);
    expect(forget).toMatch(/restic_waiting forget --quiet --host "\$BACKUP_FLEET" "\$\{tags\[@\]\}" --group-by host,paths --keep-last/);
    expect(script.match(/forget_old /g)).toHaveLength(1);
    expect(script).toContain(`[ -n "$(ls -A "$d" 2>/dev/null)" ]`);
  });

  it("names the setting behind every repository error it knows", () => {
    const explain = script.slice(script.indexOf("explain() {"), script.indexOf("REPO_ERROR=\"\""));
    for (const key of ["backupAccessKeyId", "backupSecretAccessKey", "backupBucket", "backupPassword", "backupEndpoint"]) expect(explain).toContain(`agentpod:${key}`);
  });
});

/**
 * The script's own `stage` function, run by bash on a real directory while a "gateway" removes part of it. The race
 * is made deterministic: the tenant holds two directories, each with more file names than a pipe holds, so find stops
 * inside the first one it enters; the other one, already listed, is then moved away.
 */
describe("staging a live tenant's directory", () => {
  const stageFunction = renderBackupScript().match(/\nstage\(\) \{[\s\S]*?\n\}\n/)![0];

  async function stageWhileADirectoryVanishes(
    functionText: string,
    vanishing: "a directory" | "the whole tenant" = "a directory",
  ): Promise<{ status: number | null; stderr: string; staged: string; removed: string; stagedFiles: number }> {
    const root = mkdtempSync(join(tmpdir(), "agentpod-stage-"));
    try {
      const tenants = join(root, "tenants"), stage = join(root, "stage");
      mkdirSync(stage);
      for (const dir of ["one", "two"]) {
        mkdirSync(join(tenants, "t", dir), { recursive: true });
        for (let i = 0; i < 500; i++) writeFileSync(join(tenants, "t", dir, `${"n".repeat(200)}${i}`), "x");
      }
      const bash = spawn("bash", ["--norc", "-c", `set -uo pipefail\n${functionText}\nstage t`], { env: { PATH: process.env.PATH, TENANTS: tenants, STAGE: stage } });
      let stderr = "";
      bash.stderr.on("data", (chunk) => (stderr += chunk));
      const exited = new Promise<number | null>((done) => bash.on("close", done));
      let staged = "", removed = "";
      for (let tries = 0; tries < 2000 && !removed; tries++) {
        const [first, second] = ["one", "two"].filter((dir) => existsSync(join(stage, "t", dir)));
        if (first && !second) {
          staged = first;
          removed = staged === "one" ? "two" : "one";
          if (vanishing === "a directory") renameSync(join(tenants, "t", removed), join(root, "elsewhere"));
          else rmSync(join(tenants, "t"), { recursive: true });
        } else await new Promise((wait) => setTimeout(wait, 5));
      }
      const status = await exited;
      const stagedFiles = staged && existsSync(join(stage, "t", staged)) ? readdirSync(join(stage, "t", staged)).length : 0;
      return { status, stderr, staged, removed, stagedFiles };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }

  it("a directory that vanishes while it is copied is not an error; the rest is staged", async () => {
    const run = await stageWhileADirectoryVanishes(stageFunction);
    expect(run.removed).not.toBe("");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stagedFiles).toBe(500);
  });

  it("the tenant's whole directory deleted while it is copied is an error: no partial snapshot", async () => {
    const run = await stageWhileADirectoryVanishes(stageFunction, "the whole tenant");
    expect(run.stderr).toMatch(/tenants\/t vanished while it was copied/);
    expect(run.status).toBe(1);
  });

  it("control: the race is real — counting every find error as fatal, the same walk fails on the vanished directory", async () => {
    const vanished = `"^find: '\\./.*': No such file or directory$"`;
    expect(stageFunction).toContain(vanished);
    const run = await stageWhileADirectoryVanishes(stageFunction.replace(vanished, `"^no line matches this$"`));
    expect(run.stderr).toContain(`find: './${run.removed}': No such file or directory`);
    expect(run.status).toBe(1);
  });

  it("copies binary files without a warning, and a real error still fails the stage, named", () => {
    const root = mkdtempSync(join(tmpdir(), "agentpod-stage-"));
    try {
      const tenants = join(root, "tenants"), stage = join(root, "stage");
      mkdirSync(join(tenants, "t"), { recursive: true });
      mkdirSync(stage);
      writeFileSync(join(tenants, "t", "blob"), Buffer.from([0, 1, 2, 0, 83, 81, 76, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]));
      const run = (extra = "") => spawnSync("bash", ["--norc", "-c", `set -uo pipefail\n${stageFunction}\n${extra}stage t`], { env: { PATH: process.env.PATH, TENANTS: tenants, STAGE: stage }, encoding: "utf8" });
      const good = run();
      expect(good.stderr).toBe("");
      expect(good.status).toBe(0);
      expect(readFileSync(join(stage, "t", "blob"))).toEqual(readFileSync(join(tenants, "t", "blob")));
      // cp that fails on a file that is still there: the stage fails and says which file.
      const bad = run("cp() { return 1; }\n");
      expect(bad.stderr).toContain("cannot copy blob");
      expect(bad.status).toBe(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("backup status", () => {
  it("parses status lines and the heartbeat, skipping a half-written file", () => {
    const text = [JSON.stringify(record()), '{"tenant": "bra', JSON.stringify(record({ tenant: "bravo", lastSuccess: null, lastError: "x" })), "heartbeat 1000060", ""].join("\n");
    const parsed = parseBackupStatus(text);
    expect(parsed.heartbeat).toBe(1_000_060);
    expect(parsed.records.map((r) => [r.tenant, r.lastSuccess, r.lastError])).toEqual([
      ["alpha", 1_000_000, ""],
      ["bravo", null, "x"],
    ]);
  });

  it("fails a tenant whose last run failed or whose last success is older than twice the interval", () => {
    const now = 1_000_000;
    expect(backupVerdict(record({ lastSuccess: now - 7200 }), now, 3600)).toEqual({ verdict: "ok", age: 7200 });
    expect(backupVerdict(record({ lastSuccess: now - 7201 }), now, 3600)).toEqual({ verdict: "stale", age: 7201 });
    expect(backupVerdict(record({ lastError: "check agentpod:backupBucket" }), now, 3600)).toEqual({ verdict: "failed", age: 0 });
    expect(backupVerdict(record({ lastSuccess: null, lastError: "x" }), now, 3600)).toEqual({ verdict: "failed" });
    expect(backupVerdict(undefined, now, 3600)).toEqual({ verdict: "pending" });
    expect(["ok", "pending"].map((v) => isBackupFailing(v as never))).toEqual([false, false]);
    expect(["failed", "stale", "unknown"].map((v) => isBackupFailing(v as never))).toEqual([true, true, true]);
  });

  it("a host whose job has stopped is loud", () => {
    expect(backupJobProblem(undefined, 1000, 3600)).toBe("its backup job has never run");
    expect(backupJobProblem(1000 - 60, 1000, 3600)).toBeUndefined();
    expect(backupJobProblem(1000 - 7201, 1000, 3600)).toBe("its backup job has not run for 2h");
  });

  it("renders the last backup and its age per tenant, and the verdict", () => {
    const now = 1_000_000;
    const ok = renderBackups([{ tenant: "alpha", host: "a", verdict: "ok", age: 300, record: record({ lastSuccess: now - 300 }) }], now);
    expect(ok.ok).toBe(true);
    expect(ok.text).toMatch(/alpha\s+1970-01-12 13:41:40\s+5m\s+01234567\s+ok/);
    const failed = renderBackups([{ tenant: "bravo", host: "a", verdict: "failed", record: record({ tenant: "bravo", lastRun: now - 60, lastError: "check agentpod:backupBucket" }) }], now);
    expect(failed.ok).toBe(false);
    expect(failed.text).toContain("backups failing for bravo");
    expect(failed.text).toContain("bravo: last backup failed 60s ago: check agentpod:backupBucket");
    expect(formatAge(59)).toBe("59s");
    expect(formatAge(3 * 86400)).toBe("3d");
  });
});

describe("backup job in production (under mocks)", () => {
  it("every Hetzner host gets a hardened job on its own engine, secrets only as secrets, and tenants' data claims wait for its gate", async () => {
    const { readFileSync } = await import("node:fs");
    const { runFleet } = await import("../support/mockFleet");
    const run = await runFleet({ tenantsYaml: readFileSync("tenants.yaml", "utf8") });
    if (run.error) throw run.error;
    const SECRET_SIG = "4dabf18193072939515e22adb298388d";
    const hosts = run.ofType("hcloud:index/server:Server").map((s) => s.name.replace(/-server$/, ""));
    expect(hosts.length).toBeGreaterThan(0);
    for (const host of hosts) {
      const job = run.named(`${host}-backup-job`);
      expect(job.options.provider).toBe(`${host}-docker`);
      expect(job.inputs).toMatchObject({
        name: "agentpod--backup",
        image: "ghcr.io/example/agentpod-backup:1",
        command: ["/usr/local/bin/agentpod-backup", "loop"],
        networkMode: "host",
        capabilities: { drops: ["ALL"], adds: ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "SETUID", "SETGID"] },
        securityOpts: ["no-new-privileges:true"],
        // rslave: the disks of tenants added after the job started appear in it too.
        mounts: [{ type: "bind", source: "/mnt/agentpod", target: "/mnt/agentpod", bindOptions: { propagation: "rslave" } }],
      });
      expect(JSON.stringify(job.inputs.mounts)).not.toContain("docker.sock");
      // The environment (keys and fleet key among it) is one secret: nothing of it is readable in the state.
      expect(job.inputs.envs?.[SECRET_SIG]).toBeDefined();
      expect(job.inputs.envs.value.join("\n")).toContain("RESTIC_REPOSITORY=s3:https://hel1.your-objectstorage.com/agentpod-backups/agentpod");
      expect(job.inputs.envs.value.join("\n")).toContain("AWS_SECRET_ACCESS_KEY=test-secret-access-key");
      const gate = run.named(`${host}-backup-gate`);
      expect(gate.inputs).toMatchObject({ host, container: "agentpod--backup", expected: [], restore: false });
    }
    const claims = run.ofType("pulumi-nodejs:dynamic/agentpod:TenantDataDirectory");
    expect(claims.length).toBeGreaterThan(0);
    for (const claim of claims) expect(claim.options.dependsOn?.some((d) => d.endsWith("-backup-gate"))).toBe(true);
    // The gates open the shared repository one after the other (two concurrent `restic init` break it: seen in e2e).
    expect(run.named("fsn1-a-backup-gate").options.dependsOn ?? []).not.toContain("fsn1-b-backup-gate");
    expect(run.named("fsn1-b-backup-gate").options.dependsOn).toContain("fsn1-a-backup-gate");
    // One fleet key for the whole fleet, kept as a secret output.
    expect(run.ofType("pulumi-nodejs:dynamic/agentpod:BackupKey")).toHaveLength(1);
  });

  it("host replace passes the lost host's tenants (and --restore) to that host's gate alone, for one run", async () => {
    const { runFleet } = await import("../support/mockFleet");
    const yaml = `
hosts:
  - { name: fsn1-a, location: fsn1, serverType: cx42 }
  - { name: fsn1-b, location: fsn1, serverType: cx42 }
tenants:
  - { name: acme, host: fsn1-a }
  - { name: beta, host: fsn1-b }
`;
    const run = await runFleet({ tenantsYaml: yaml, operation: { rebuiltHosts: { "fsn1-b": { tenants: ["beta"], restore: true } } } });
    if (run.error) throw run.error;
    expect(run.named("fsn1-b-backup-gate").inputs).toMatchObject({ expected: ["beta"], restore: true });
    expect(run.named("fsn1-a-backup-gate").inputs).toMatchObject({ expected: [], restore: false });
  });
});
