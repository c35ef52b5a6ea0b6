// Stand-in tenant for timing benchmarks: answers like an OpenClaw gateway's probes
// (GET /healthz -> 200 {"ok":true,"status":"live"}, GET / -> 200) at a fraction of the memory.
// `node server.js --check` is the HEALTHCHECK: GET /healthz on loopback, exit 0 on 200.
"use strict";
const http = require("node:http");
const PORT = Number(process.env.PORT || 18789);

if (process.argv.includes("--check")) {
  http.get({ host: "127.0.0.1", port: PORT, path: "/healthz", timeout: 3000 }, (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  }).on("error", () => process.exit(1)).on("timeout", () => process.exit(1));
} else {
  const server = http.createServer((req, res) => {
    const path = (req.url || "/").split("?")[0];
    let status = 404, body = '{"ok":false,"error":"not_found"}';
    if (path === "/healthz") { status = 200; body = '{"ok":true,"status":"live"}'; }
    else if (path === "/") { status = 200; body = '{"ok":true,"service":"agentpod-standin"}'; }
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  server.listen(PORT, "0.0.0.0", () => console.log(`standin listening on :${PORT}`));
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
