// Stand-in tenant for timing benchmarks and rollout tests: answers like an OpenClaw gateway's probes
// (GET /healthz -> 200 {"ok":true,"status":"live"}, GET /readyz -> 200, GET / -> 200 with its version) at a fraction
// of the memory. `node server.js --check` is the HEALTHCHECK: GET /healthz on loopback, exit 0 on 200.
// Releases (scripts/setup/images.sh builds them as tags of agentpod/standin): STANDIN_VERSION names the version
// `/` reports; STANDIN_MIGRATE=1 writes a marker into the state directory at start, as a release that migrates its
// data would; STANDIN_BROKEN=1 answers 503 on /healthz and /readyz, so the container never turns healthy.
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const PORT = Number(process.env.PORT || 18789);
const VERSION = process.env.STANDIN_VERSION || "1";
const BROKEN = process.env.STANDIN_BROKEN === "1";

if (process.argv.includes("--check")) {
  http.get({ host: "127.0.0.1", port: PORT, path: "/healthz", timeout: 3000 }, (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  }).on("error", () => process.exit(1)).on("timeout", () => process.exit(1));
} else {
  if (process.env.STANDIN_MIGRATE === "1" && process.env.OPENCLAW_STATE_DIR) {
    try { fs.writeFileSync(path.join(process.env.OPENCLAW_STATE_DIR, "migrated-by"), `${VERSION}\n`); } catch (error) { console.error(`cannot migrate: ${error}`); }
  }
  const server = http.createServer((req, res) => {
    const path = (req.url || "/").split("?")[0];
    let status = 404, body = '{"ok":false,"error":"not_found"}';
    if (path === "/healthz" || path === "/readyz") {
      if (BROKEN) { status = 503; body = '{"ok":false,"status":"broken"}'; }
      else { status = 200; body = path === "/healthz" ? '{"ok":true,"status":"live"}' : '{"ok":true,"status":"ready"}'; }
    }
    else if (path === "/") { status = 200; body = JSON.stringify({ ok: true, service: "agentpod-standin", version: VERSION }); }
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  server.listen(PORT, "0.0.0.0", () => console.log(`standin ${VERSION} listening on :${PORT}`));
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
