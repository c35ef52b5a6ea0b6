/**
 * From a tenants.yaml entry to a customer in their Control UI, on the real engine and in a real browser: the link
 * `agentpod tenant dashboard` prints opens the tenant's Control UI through its host's Traefik past pairing; the same
 * link a second time, a made-up link and a link made for another tenant do not get in; a browser that has only the
 * gateway token waits for approval until `agentpod tenant devices <t> approve <id>` lets it in; devices are listed
 * and revoked. One host, two real gateways; own fleet prefix and port.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { expectShown, inFreshProfile, launchBrowser, publicKeyHash } from "../support/browser";
import { createLocalFleet, getVia, isPortFree, localCa, localDomain, removeFleetObjects, servedCertificate, waitFor, type LocalFleet } from "../support/localFleet";

const FLEET = "dash";
const PORT = 18480;
const HOST = "host-a";
const TENANTS = ["ant", "bee"];
/** What the Control UI shows once a browser is in (its first settings screen on a gateway with no model yet). */
const INSIDE = "Model Setup";

let fleet: LocalFleet;
let browser: Browser;
let tokens: Record<string, string>;

const origin = (tenant: string) => `https://${localDomain(tenant)}:${fleet.httpsPort}`;
const gatewayUrl = (tenant: string) => `wss://${localDomain(tenant)}:${fleet.httpsPort}`;
const dashboard = (tenant: string) => JSON.parse(fleet.agentpod(["tenant", "dashboard", tenant, "--json"]).stdout) as { tenant: string; url: string; expiresAt: string };
const devices = (tenant: string) =>
  JSON.parse(fleet.agentpod(["tenant", "devices", tenant, "list", "--json"]).stdout).devices as Array<{ state: string; id: string; name: string; role: string }>;

beforeAll(async () => {
  removeFleetObjects(FLEET);
  if (!isPortFree(PORT)) throw new Error(`port ${PORT} is in use: the dashboard test needs it`);
  fleet = createLocalFleet({ fleet: FLEET, port: PORT });
  fleet.writeTenants(`
defaults:
  image: agentpod/openclaw:2026.9.6
  plan: half
plans:
  half: { cpus: 0.5, memory: 2Gi }
hosts:
  - { name: ${HOST}, location: fsn1, serverType: ccx33 }
tenants:
${TENANTS.map((t) => `  - { name: ${t}, host: ${HOST} }`).join("\n")}
`);
  fleet.agentpod(["up", "--yes"]);
  for (const tenant of TENANTS) {
    await waitFor(`${tenant} ready`, async () => ((await getVia(fleet.httpsPort, localDomain(tenant), "/readyz", fleet.address(HOST))).status === 200 ? true : undefined), 180_000);
  }
  tokens = JSON.parse(fleet.agentpod(["outputs", "--show-secrets"]).stdout).gatewayTokens;
  // The browser accepts the fleet's certificate, verified here against the local CA first.
  const served = await servedCertificate(fleet.address(HOST), fleet.httpsPort, localDomain(TENANTS[0]!), localCa());
  if (!served.authorized) throw new Error(`the fleet's certificate does not verify against the local CA: ${served.error}`);
  browser = await launchBrowser(Object.fromEntries(TENANTS.map((t) => [localDomain(t), fleet.address(HOST)])), [publicKeyHash(served.certificate!.raw)]);
});

afterAll(async () => {
  await browser?.close();
  fleet?.agentpod(["destroy", "--yes"], { allowFailure: true });
  removeFleetObjects(FLEET);
  fleet?.dispose();
});

describe("customer onboarding in a real browser", () => {
  test("the dashboard link is on the tenant's public origin, one-time and short-lived, and carries no gateway token", () => {
    const link = dashboard("ant");
    const url = new URL(link.url);
    expect(url.origin).toBe(origin("ant"));
    const fragment = new URLSearchParams(url.hash.slice(1));
    expect(fragment.get("bootstrapToken")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(fragment.get("gatewayUrl")).toBe(gatewayUrl("ant"));
    expect(link.url).not.toContain(tokens.ant!);
    expect(link.url).not.toContain("token=");
    const minutes = (Date.parse(link.expiresAt) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(2);
    expect(minutes).toBeLessThan(30);
    const text = fleet.agentpod(["tenant", "dashboard", "ant"]).stdout;
    expect(text).toMatch(/^https:\/\/ant\.agents\.localhost:18843\/#bootstrapToken=/);
    expect(text).toContain("One-time link to ant's Control UI");
  });

  test("the link opens the Control UI past pairing; used again, made up, or opened on another tenant, it does not", async () => {
    const link = dashboard("ant").url;
    await inFreshProfile(browser, "dashboard link opens the Control UI", async (page) => {
      await page.goto(link);
      await expectShown(page, INSIDE);
    });
    // The paired browser is the tenant's first device, paired by the link; status counts it (who has access).
    expect(devices("ant")).toEqual([expect.objectContaining({ state: "paired", role: "operator" })]);
    expect(fleet.agentpod(["status", "--devices"], { allowFailure: true }).stdout).toMatch(/\nant\s+host-a\s+half\s+running\s+healthy\s+1\s+https:/);

    const refused = async (step: string, url: string) =>
      inFreshProfile(browser, step, async (page) => {
        await page.goto(url);
        await expectShown(page, "rejected", 30_000);
        expect(await page.getByText(INSIDE).count()).toBe(0);
      });
    await refused("the same link a second time", link);
    const madeUp = new URL(link);
    madeUp.hash = madeUp.hash.replace(/bootstrapToken=[^&]+/, `bootstrapToken=${"A".repeat(43)}`);
    await refused("a made-up link", madeUp.toString());
    // A fresh link for ant, carried to bee's origin: bee's gateway does not know it.
    const forAnt = new URL(dashboard("ant").url);
    const onBee = `${origin("bee")}/${forAnt.hash.replace(encodeURIComponent(gatewayUrl("ant")), encodeURIComponent(gatewayUrl("bee")))}`;
    await refused("ant's link on bee", onBee);
    // Positive control for the last one: bee's own link opens bee.
    await inFreshProfile(browser, "bee's own link", async (page) => {
      await page.goto(dashboard("bee").url);
      await expectShown(page, INSIDE);
    });
  });

  test("a browser with only the gateway token waits for approval; `tenant devices approve` lets it in; revoke removes it", async () => {
    const before = devices("bee").filter((d) => d.state === "paired").length;
    await inFreshProfile(browser, "token only, then approved", async (page) => {
      await page.goto(`${origin("bee")}/#token=${tokens.bee}`);
      await expectShown(page, "Approve this browser");
      expect(await page.getByText(INSIDE).count()).toBe(0);
      const pending = devices("bee").filter((d) => d.state === "pending");
      expect(pending).toHaveLength(1);
      const approved = fleet.agentpod(["tenant", "devices", "bee", "approve", pending[0]!.id]);
      expect(approved.stdout).toContain(`approved pairing request ${pending[0]!.id}`);
      await page.getByText("Check now").first().click().catch(() => undefined);
      await expectShown(page, INSIDE);
    });
    const paired = devices("bee").filter((d) => d.state === "paired");
    expect(paired).toHaveLength(before + 1);
    const table = fleet.agentpod(["tenant", "devices", "bee"]).stdout;
    expect(table).toMatch(/paired\s+\S+\s+openclaw-control-ui/);
    for (const device of paired) fleet.agentpod(["tenant", "devices", "bee", "revoke", device.id]);
    expect(devices("bee").filter((d) => d.state === "paired")).toEqual([]);
  });

  test("unknown, down or unhealthy tenants get a clear error and no link; bad usage exits 2", async () => {
    const unknown = fleet.agentpod(["tenant", "dashboard", "nobody"], { allowFailure: true });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain(`tenant nobody is not deployed in stack ${fleet.stack} (its tenants: ant, bee)`);
    fleet.docker(HOST, ["stop", `${FLEET}-bee`]);
    try {
      const stopped = fleet.agentpod(["tenant", "dashboard", "bee"], { allowFailure: true });
      expect(stopped.status).toBe(1);
      expect(stopped.stderr).toContain("tenant bee's gateway is exited");
      expect(stopped.stdout).not.toContain("bootstrapToken");
    } finally {
      fleet.docker(HOST, ["start", `${FLEET}-bee`]);
    }
    const usage = fleet.agentpod(["tenant", "devices", "bee", "approve"], { allowFailure: true });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("devices approve needs the id");
    await waitFor("bee healthy again", async () => ((await getVia(fleet.httpsPort, localDomain("bee"), "/healthz", fleet.address(HOST))).status === 200 ? true : undefined), 180_000);
  });
});
