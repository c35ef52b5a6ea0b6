/**
 * A GET through a host's proxy by a tenant's host name, without DNS: the connection goes to the proxy's address and
 * the Host header (and, over HTTPS, the SNI name) names the tenant, as a browser's would. Used by the rollout's health
 * gate (locally) and the tests.
 */
import * as http from "node:http";
import * as https from "node:https";

export interface ProxyTarget {
  readonly address: string;
  readonly port: number;
  readonly host: string;
  readonly path: string;
  /** `https` verifies the proxy's certificate for `host` against `ca` (PEM), or Node's own roots without it. */
  readonly scheme?: "http" | "https";
  readonly ca?: string;
}

export interface ProxyAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function getThroughProxy(target: ProxyTarget): Promise<ProxyAnswer> {
  // node:http(s), not fetch: fetch does not let a caller set the Host header.
  return new Promise((resolve) => {
    // A connection per request (no keep-alive): each probe measures whether the proxy accepts and answers now,
    // not whether an idle pooled socket survived.
    const options = { host: target.address, port: target.port, path: target.path, headers: { host: `${target.host}:${target.port}` }, timeout: 10_000, agent: false };
    const onResponse = (response: http.IncomingMessage) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
    };
    const request =
      target.scheme === "https"
        ? https.get({ ...options, servername: target.host, ...(target.ca ? { ca: target.ca } : {}) }, onResponse)
        : http.get(options, onResponse);
    request.on("timeout", () => request.destroy(new Error("timeout")));
    request.on("error", (error) => resolve({ status: 0, body: String(error), headers: {} }));
  });
}
