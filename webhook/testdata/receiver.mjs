// A Standard Webhooks receiver built on the standardwebhooks npm package,
// for the Go tests of the webhook package: an independent peer.
//
//   node receiver.mjs <dir of a package.json with standardwebhooks> <secret>...
//
// It listens on a loopback port and prints {"listening":<port>} on stdout.
// POST /s/<i> verifies the request with new Webhook(secrets[i]).verify(body,
// headers): 204 when it verifies, 401 with the library's message when not.
// Each request is reported as one JSON line on stdout:
// {"id","path","ok","error","type"}. It exits when stdin closes.
import { createRequire } from "node:module";
import http from "node:http";
import path from "node:path";

const [webDir, ...secrets] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(webDir), "package.json"));
const { Webhook } = require("standardwebhooks");
const hooks = secrets.map((s) => new Webhook(s));

const report = (r) => process.stdout.write(JSON.stringify(r) + "\n");

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const r = { id: req.headers["webhook-id"] ?? "", path: req.url, ok: false };
    try {
      const m = /^\/s\/(\d+)$/.exec(req.url);
      const hook = m && req.method === "POST" ? hooks[Number(m[1])] : undefined;
      if (!hook) throw new Error(`no secret for ${req.method} ${req.url}`);
      const payload = hook.verify(body, req.headers);
      r.ok = true;
      r.type = payload?.type ?? "";
      res.writeHead(204).end();
    } catch (e) {
      r.error = String(e?.message ?? e);
      res.writeHead(401, { "content-type": "text/plain" }).end(r.error);
    }
    report(r);
  });
});

server.listen(0, "127.0.0.1", () => report({ listening: server.address().port }));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
