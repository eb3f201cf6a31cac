// A Web Push service and browser in one, written against other authors'
// code, for the Go tests of the webpush package: http_ece (Mozilla's
// reference aes128gcm implementation) decrypts each request body, and
// Node's crypto verifies the VAPID JWT.
//
// Environment: BELFRY_WEB_DIR, the directory whose node_modules holds
// http_ece; VAPID_SUB, the sub claim to expect.
//
// It listens on 127.0.0.1 on a free port, creates the subscription's key
// pair and auth secret with Node's crypto, and prints a first JSON line:
//   {"port":1234,"p256dh":"<base64url>","auth":"<base64url>"}
// Then for each request it prints one JSON line saying what it saw (see
// report below) and answers the status named by the path,
// /push/<status>[/<label>] (the label tells subscriptions apart), with the
// Retry-After of the query parameter retry_after, if any. With
// ?fail=<status>&times=<n>, the first n requests to that URL get <status>
// instead (and the Retry-After). It exits when its stdin closes.
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.BELFRY_WEB_DIR, 'package.json'));
const ece = require('http_ece');
const wantSub = process.env.VAPID_SUB;

const ua = crypto.createECDH('prime256v1');
ua.generateKeys();
const authSecret = crypto.randomBytes(16);

const URGENCIES = ['very-low', 'low', 'normal', 'high'];

function verifyJWT(req, errors) {
  const out = {};
  const m = /^vapid t=([^,\s]+),\s*k=([^,\s]+)$/.exec(req.headers.authorization || '');
  if (!m) {
    errors.push('Authorization is not "vapid t=..., k=...": ' + req.headers.authorization);
    return out;
  }
  const [, token, k] = m;
  out.k = k;
  const parts = token.split('.');
  if (parts.length !== 3) {
    errors.push('the JWT has ' + parts.length + ' parts');
    return out;
  }
  const [h64, c64, s64] = parts;
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(h64, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(c64, 'base64url').toString('utf8'));
  } catch (e) {
    errors.push('the JWT header or claims are not JSON: ' + e.message);
    return out;
  }
  out.header = header;
  out.claims = claims;
  if (header.alg !== 'ES256') errors.push('alg is ' + header.alg);
  const point = Buffer.from(k, 'base64url');
  if (point.length !== 65 || point[0] !== 4) {
    errors.push('k is not an uncompressed P-256 point');
    return out;
  }
  const key = crypto.createPublicKey({
    key: {
      kty: 'EC', crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
  const sig = Buffer.from(s64, 'base64url');
  if (sig.length !== 64) errors.push('the signature is ' + sig.length + ' bytes, not 64');
  const ok = crypto.verify('sha256', Buffer.from(h64 + '.' + c64), { key, dsaEncoding: 'ieee-p1363' }, sig);
  if (!ok) errors.push('the ES256 signature does not verify against k');
  const origin = 'http://' + req.headers.host;
  if (claims.aud !== origin) errors.push('aud is ' + claims.aud + ', not ' + origin);
  const now = Math.floor(Date.now() / 1000);
  if (!(Number.isInteger(claims.exp) && claims.exp > now && claims.exp <= now + 24 * 3600)) {
    errors.push('exp ' + claims.exp + ' is not within 24 hours from now ' + now);
  }
  if (claims.sub !== wantSub) errors.push('sub is ' + claims.sub + ', not ' + wantSub);
  return out;
}

function checkHeaders(req, errors) {
  const h = req.headers;
  if (h['content-encoding'] !== 'aes128gcm') errors.push('Content-Encoding is ' + h['content-encoding']);
  if (h['content-type'] !== 'application/octet-stream') errors.push('Content-Type is ' + h['content-type']);
  if (!/^[0-9]+$/.test(h.ttl || '')) errors.push('TTL is ' + h.ttl);
  if (h.urgency !== undefined && !URGENCIES.includes(h.urgency)) errors.push('Urgency is ' + h.urgency);
  if (h.topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(h.topic)) errors.push('Topic is ' + h.topic);
}

function decrypt(body, errors) {
  const out = { body_len: body.length };
  if (body.length > 4096) errors.push('the body is ' + body.length + ' bytes, more than 4096');
  if (body.length < 21) {
    errors.push('the body is shorter than an aes128gcm header');
    return out;
  }
  out.rs = body.readUInt32BE(16);
  out.idlen = body[20];
  if (out.rs !== 4096) errors.push('rs is ' + out.rs);
  if (out.idlen !== 65) errors.push('idlen is ' + out.idlen);
  if (body.length - 21 - out.idlen > out.rs) errors.push('more than one record');
  try {
    const plain = ece.decrypt(body, {
      version: 'aes128gcm',
      privateKey: ua,
      authSecret: authSecret.toString('base64url'),
    });
    out.plaintext = plain.toString('base64');
  } catch (e) {
    errors.push('http_ece cannot decrypt: ' + e.message);
  }
  return out;
}

const hits = new Map(); // requests per URL, for ?fail=…&times=…

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= 65536) chunks.push(c);
  });
  req.on('end', () => {
    const url = new URL(req.url, 'http://' + req.headers.host);
    const m = /^\/push\/([0-9]{3})(\/[A-Za-z0-9_-]+)?$/.exec(url.pathname);
    let status = m ? Number(m[1]) : 400;
    const seen = (hits.get(req.url) ?? 0) + 1;
    hits.set(req.url, seen);
    const fail = url.searchParams.get('fail');
    if (fail !== null && seen <= Number(url.searchParams.get('times') ?? 1)) status = Number(fail);
    const errors = [];
    if (req.method !== 'POST') errors.push('method is ' + req.method);
    checkHeaders(req, errors);
    const report = {
      path: url.pathname,
      url: req.url,
      status,
      ttl: req.headers.ttl,
      urgency: req.headers.urgency,
      topic: req.headers.topic,
      ...verifyJWT(req, errors),
      ...decrypt(Buffer.concat(chunks), errors),
      errors,
    };
    process.stdout.write(JSON.stringify(report) + '\n');
    const headers = { 'content-type': 'text/plain' };
    const ra = url.searchParams.get('retry_after');
    if (ra !== null && (fail === null || status === Number(fail))) headers['retry-after'] = ra;
    if (status === 201) headers.location = 'http://' + req.headers.host + '/message/1';
    res.writeHead(status, headers);
    res.end(status === 201 ? '' : 'status ' + status + '\n');
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({
    port: server.address().port,
    p256dh: ua.getPublicKey().toString('base64url'),
    auth: authSecret.toString('base64url'),
  }) + '\n');
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
