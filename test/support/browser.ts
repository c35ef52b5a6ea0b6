/**
 * A real browser for the end-to-end suite: Debian's Chromium driven by playwright-core (a browser download cannot
 * work on these machines). Host names are mapped to the local servers' loopback addresses, as a customer's DNS
 * would map them to the hosts. On failure a step's screenshot is kept under test-artifacts/ (or $AGENTPOD_ARTIFACTS).
 */
import { X509Certificate, createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { REPO } from "./localFleet";

export const CHROMIUM = process.env.AGENTPOD_CHROMIUM ?? "/usr/bin/chromium";
export const ARTIFACTS = process.env.AGENTPOD_ARTIFACTS ?? path.join(REPO, "test-artifacts");

/**
 * `trustedKeys`: SHA-256 hashes (base64) of the public keys of certificates Chromium accepts in a chain it cannot
 * verify: the local target's certificates chain to Pebble's root, which is in no system store (test/e2e/tls.test.ts
 * proves that chain against the root itself).
 */
export function launchBrowser(hosts: Readonly<Record<string, string>>, trustedKeys: readonly string[] = []): Promise<Browser> {
  const rules = Object.entries(hosts).map(([name, address]) => `MAP ${name} ${address}`).join(",");
  const trust = trustedKeys.length > 0 ? [`--ignore-certificate-errors-spki-list=${trustedKeys.join(",")}`] : [];
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", `--host-resolver-rules=${rules}`, ...trust] });
}

/**
 * The SHA-256 hash (base64) of a certificate's SubjectPublicKeyInfo (DER), as Chromium's
 * --ignore-certificate-errors-spki-list takes it. `certificate`: the certificate itself, DER (a peer certificate's raw).
 */
export const publicKeyHash = (certificate: Buffer) =>
  createHash("sha256")
    .update(new X509Certificate(certificate).publicKey.export({ type: "spki", format: "der" }))
    .digest("base64");

/** Runs one step in a fresh browser profile (its own storage: a new device); screenshots it if the step fails. */
export async function inFreshProfile<T>(browser: Browser, step: string, body: (page: Page) => Promise<T>): Promise<T> {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    return await body(page);
  } catch (error) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${step.replace(/[^a-z0-9]+/gi, "-")}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    throw new Error(`${step}: ${error instanceof Error ? error.message : String(error)} (screenshot: ${file})`);
  } finally {
    await context.close();
  }
}

/** Waits until the page shows `text` (visible), or fails with what it shows instead. */
export async function expectShown(page: Page, text: string, timeoutMs = 60_000): Promise<void> {
  try {
    await page.getByText(text, { exact: false }).first().waitFor({ state: "visible", timeout: timeoutMs });
  } catch {
    const shown = (await page.innerText("body").catch(() => "")).replace(/\s+/g, " ").slice(0, 300);
    throw new Error(`the page does not show "${text}"; it shows: ${shown}`);
  }
}
