/**
 * A GET through a host's proxy by a tenant's host name, without DNS: the connection goes to the proxy's address and
 * the Host header names the tenant, as a browser's would. Used by the rollout's health gate (locally) and the tests.
 */
import * as http from "node:http";

export function getThroughProxy(target: { address: string; port: number; host: string; path: string }): Promise<{ status: number; body: string }> {
  // node:http, not fetch: fetch does not let a caller set the Host header.
  return new Promise((resolve) => {
    // A connection per request (no keep-alive): each probe measures whether the proxy accepts and answers now,
    // not whether an idle pooled socket survived.
    const request = http.get({ host: target.address, port: target.port, path: target.path, headers: { host: `${target.host}:${target.port}` }, timeout: 10_000, agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("timeout", () => request.destroy(new Error("timeout")));
    request.on("error", (error) => resolve({ status: 0, body: String(error) }));
  });
}
