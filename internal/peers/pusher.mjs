// A Pusher publisher built on the pusher npm package (Pusher's official
// Node server SDK), for belfry's tests.
//
//   node pusher.mjs <dir of a package.json with pusher> <base URL> <app id> <key> <secret>
//
// It prints {"ready":true}, then reads one JSON command per stdin line:
//   {"trigger":{"channels":[…],"event":"…","data":…,"params":{…}}}
//   {"batch":[{"channel":"…","name":"…","data":…},…]}
// runs it with pusher.trigger or pusher.triggerBatch against the base URL,
// and prints one line per command, in order:
//   {"status":200,"body":"…"} or {"status":401,"body":"…","error":"…"}
// (status 0 when no answer came, or the SDK refused the call itself). It
// exits when stdin closes.
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";

const [webDir, base, appId, key, secret] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(webDir), "package.json"));
const Pusher = require("pusher");
const u = new URL(base);
const pusher = new Pusher({
  appId, key, secret,
  host: u.hostname,
  port: u.port,
  useTLS: u.protocol === "https:",
  timeout: 15000,
});

const report = (r) => process.stdout.write(JSON.stringify(r) + "\n");

async function run(cmd) {
  try {
    const res = cmd.batch
      ? await pusher.triggerBatch(cmd.batch)
      : await pusher.trigger(cmd.trigger.channels, cmd.trigger.event, cmd.trigger.data, cmd.trigger.params);
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: err.status || 0, body: err.body || "", error: String(err.message || err) };
  }
}

// Commands run one after the other, so the answers come in their order.
let chain = Promise.resolve();
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  chain = chain.then(() => run(JSON.parse(line))).then(report);
});
report({ ready: true });
