/**
 * The customer's link into the Control UI (fleet/dashboard.ts), from what the gateway's own `openclaw dashboard
 * --no-open --json` prints (recorded from openclaw 2026.9.6), and the device rows from `openclaw devices list --json`.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DashboardLinkError, deviceRows, gatewayWebSocketUrl, publicDashboardLink } from "../../fleet/dashboard";

const GATEWAY_OUTPUT = {
  ok: true,
  url: "http://127.0.0.1:18789/#token=tok123",
  httpUrl: "http://127.0.0.1:18789/",
  wsUrl: "ws://127.0.0.1:18789",
  port: 18789,
  tokenIncluded: true,
  browserUrl: "http://127.0.0.1:18789/#bootstrapToken=-u2IMwOOXSvjlb8lNW4zrkAn8BNGlVPJP6d93sj3JDo&bootstrapProfile=owner&gatewayUrl=ws%3A%2F%2F127.0.0.1%3A18789",
  browserBootstrapExpiresAtMs: 1796185811280,
};

describe("dashboard link", () => {
  test("is rewritten to the public origin, keeps the bootstrap token and profile, and drops the gateway token", () => {
    const link = publicDashboardLink(GATEWAY_OUTPUT, "https://acme.agents.example.com");
    expect(link.url).toBe(
      "https://acme.agents.example.com/#bootstrapToken=-u2IMwOOXSvjlb8lNW4zrkAn8BNGlVPJP6d93sj3JDo&bootstrapProfile=owner&gatewayUrl=wss%3A%2F%2Facme.agents.example.com",
    );
    expect(link.url).not.toContain("tok123");
    expect(link.expiresAt.toISOString()).toBe(new Date(1796185811280).toISOString());
    const local = publicDashboardLink(GATEWAY_OUTPUT, "http://alpha.localhost:8080");
    expect(new URLSearchParams(new URL(local.url).hash.slice(1)).get("gatewayUrl")).toBe("ws://alpha.localhost:8080");
    expect(new URL(local.url).origin).toBe("http://alpha.localhost:8080");
  });

  test("a gateway answer without a bootstrap link is refused, never replaced by the gateway token", () => {
    const { browserUrl: _url, ...withoutBrowserUrl } = GATEWAY_OUTPUT;
    expect(() => publicDashboardLink(withoutBrowserUrl, "https://a.example.com")).toThrow(DashboardLinkError);
    expect(() => publicDashboardLink({ ...GATEWAY_OUTPUT, browserUrl: "http://127.0.0.1:18789/#token=tok123" }, "https://a.example.com")).toThrow(/no bootstrap token/);
    expect(() => publicDashboardLink({ ...GATEWAY_OUTPUT, browserBootstrapExpiresAtMs: undefined } as never, "https://a.example.com")).toThrow(DashboardLinkError);
  });

  test("for any origin and token, the link's origin is the tenant's and its WebSocket URL the same host", () => {
    fc.assert(
      fc.property(fc.domain(), fc.boolean(), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), fc.base64String({ minLength: 20, maxLength: 60 }), (domain, tls, port, token) => {
        const origin = `${tls ? "https" : "http"}://${domain}${port ? `:${port}` : ""}`;
        const output = { ...GATEWAY_OUTPUT, browserUrl: `http://127.0.0.1:18789/#bootstrapToken=${encodeURIComponent(token)}&bootstrapProfile=owner` };
        const url = new URL(publicDashboardLink(output, origin).url);
        const fragment = new URLSearchParams(url.hash.slice(1));
        expect(url.origin).toBe(new URL(origin).origin);
        expect(fragment.get("bootstrapToken")).toBe(token);
        expect(fragment.get("gatewayUrl")).toBe(gatewayWebSocketUrl(origin));
        expect(new URL(fragment.get("gatewayUrl")!).host).toBe(url.host);
      }),
    );
  });
});

describe("device rows", () => {
  test("pending requests by request id, paired devices by device id", () => {
    const rows = deviceRows({
      pending: [{ requestId: "0fbf2b9b", deviceId: "2346", clientId: "openclaw-control-ui", platform: "Linux x86_64", role: "operator", ts: 1796185496555 }],
      paired: [{ deviceId: "18af5364", clientId: "openclaw-control-ui", platform: "Linux x86_64", role: "operator", createdAtMs: 1796185385925, approvedAtMs: 1796185385925 }],
    });
    expect(rows).toEqual([
      { state: "pending", id: "0fbf2b9b", name: "openclaw-control-ui on Linux x86_64", role: "operator", since: "2026-12-02T04:24:56Z" },
      { state: "paired", id: "18af5364", name: "openclaw-control-ui on Linux x86_64", role: "operator", since: "2026-12-02T04:23:05Z" },
    ]);
    expect(deviceRows({ pending: [], paired: [] })).toEqual([]);
  });
});
