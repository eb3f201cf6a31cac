// A webhook receiver built on the standardwebhooks npm package (an
// independent Standard Webhooks implementation), for belfry's tests.
//
//   node webhooks.mjs <dir of a package.json with standardwebhooks> <secret> <fail-first>
//
// It listens on a loopback port and prints {"listening":<port>}. Each POST
// is verified with new Webhook(secret).verify(body, headers); a delivery
// that does not verify gets 401. A verified one gets 500 on its first
// <fail-first> attempts (counted per webhook-id), then 204. Every request
// is reported as one JSON line on stdout:
//   {"id","attempt","ok","status","error","event"}
// where event is the verified body. It exits when stdin closes.
import { createRequire } from "node:module";
import http from "node:http";
import path from "node:path";

const [webDir, secret, failFirst] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(webDir), "package.json"));
const { Webhook } = require("standardwebhooks");
const hook = new Webhook(secret);
const fails = Number(failFirst || 0);
const attempts = new Map();

const report = (r) => process.stdout.write(JSON.stringify(r) + "\n");

http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const id = req.headers["webhook-id"] ?? "";
    const attempt = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, attempt);
    const r = { id, attempt, ok: false, status: 401 };
    try {
      r.event = hook.verify(body, req.headers);
      r.ok = true;
      r.status = attempt <= fails ? 500 : 204;
    } catch (e) {
      r.error = String(e?.message ?? e);
    }
    res.writeHead(r.status).end();
    report(r);
  });
}).listen(0, "127.0.0.1", function () {
  report({ listening: this.address().port });
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
