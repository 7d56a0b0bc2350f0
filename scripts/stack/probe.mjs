#!/usr/bin/env node
// Readiness probes for scripts/stack.sh. Dependency-free on purpose (only Node built-ins), so the
// stack works before or regardless of what the workspaces install. Each probe makes a REAL request:
//   http <url> [caFile]                         -> prints the HTTP status; exit 0 on any HTTP answer
//   mongo <mongodb-url>                          -> {ping:1} via OP_MSG; exit 0 when ok == 1
//   s3 <endpoint> <region> <ak> <sk> <METHOD> <path>  -> SigV4-signed request; prints status
//   s3-ready <endpoint> <region> <ak> <sk> <bucket>   -> signed CreateBucket + DeleteBucket; exit 0 if both 2xx
//   azure-list <endpoint> <account> <base64key> [caFile] -> SharedKey-signed List Containers; exit 0 on 200
// All probes time out after SKYFERRY_PROBE_TIMEOUT_MS (default 5000 ms).
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { createRequire } from "node:module";

const TIMEOUT_MS = Number(process.env.SKYFERRY_PROBE_TIMEOUT_MS || 5000);

function request(urlStr, { method = "GET", headers = {}, body, ca } = {}) {
  const url = new URL(urlStr);
  const mod = url.protocol === "https:" ? https : http;
  const opts = { method, headers, timeout: TIMEOUT_MS, agent: false };
  if (url.protocol === "https:" && ca) opts.ca = fs.readFileSync(ca);
  return new Promise((resolve, reject) => {
    const req = mod.request(url, opts, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${TIMEOUT_MS} ms: ${method} ${urlStr}`)));
    req.on("error", reject);
    req.end(body);
  });
}

// ---------- S3 (AWS Signature Version 4) ----------
const sha256hex = (data) => crypto.createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => crypto.createHmac("sha256", key).update(data).digest();
const rfc3986 = (s) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

async function s3Request(endpoint, region, ak, sk, method, path, body = "") {
  const url = new URL(path, endpoint);
  const now = new Date();
  const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, ""); // YYYYMMDDTHHMMSSZ
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256hex(body);
  const headers = { host: url.host, "x-amz-date": amzDate, "x-amz-content-sha256": payloadHash };
  const signedHeaders = Object.keys(headers).sort();
  const canonicalPath = url.pathname.split("/").map((seg) => rfc3986(decodeURIComponent(seg))).join("/");
  const canonicalQuery = [...url.searchParams.entries()]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalRequest = [
    method,
    canonicalPath,
    canonicalQuery,
    signedHeaders.map((h) => `${h}:${String(headers[h]).trim()}\n`).join(""),
    signedHeaders.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonicalRequest)].join("\n");
  const kSigning = hmac(hmac(hmac(hmac("AWS4" + sk, day), region), "s3"), "aws4_request");
  const signature = crypto.createHmac("sha256", kSigning).update(stringToSign).digest("hex");
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${ak}/${scope}, SignedHeaders=${signedHeaders.join(";")}, Signature=${signature}`;
  if (body) headers["content-length"] = Buffer.byteLength(body);
  return request(url.toString(), { method, headers, body });
}

// ---------- Azure Blob (Shared Key) ----------
async function azureListContainers(endpoint, account, keyB64, ca) {
  const url = new URL(endpoint.replace(/\/+$/, "") + "?comp=list");
  const headers = { "x-ms-date": new Date().toUTCString(), "x-ms-version": "2021-12-02" };
  const canonHeaders = Object.keys(headers)
    .sort()
    .map((h) => `${h}:${headers[h]}\n`)
    .join("");
  const params = [...url.searchParams.entries()]
    .map(([k, v]) => [k.toLowerCase(), v])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonResource = `/${account}${url.pathname}` + params.map(([k, v]) => `\n${k}:${v}`).join("");
  // VERB, Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-Modified-Since, If-Match,
  // If-None-Match, If-Unmodified-Since, Range, then canonicalized headers and resource.
  const stringToSign = ["GET", "", "", "", "", "", "", "", "", "", "", ""].join("\n") + "\n" + canonHeaders + canonResource;
  const sig = crypto.createHmac("sha256", Buffer.from(keyB64, "base64")).update(stringToSign, "utf8").digest("base64");
  headers.authorization = `SharedKey ${account}:${sig}`;
  return request(url.toString(), { headers, ca });
}

// ---------- MongoDB wire protocol (OP_MSG ping) ----------
function bsonPingDoc() {
  const parts = [];
  const cstr = (s) => Buffer.concat([Buffer.from(s, "utf8"), Buffer.from([0])]);
  const i32 = (n) => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return b;
  };
  parts.push(Buffer.from([0x10]), cstr("ping"), i32(1));
  const db = cstr("admin");
  parts.push(Buffer.from([0x02]), cstr("$db"), i32(db.length), db);
  const body = Buffer.concat([...parts, Buffer.from([0])]);
  return Buffer.concat([i32(body.length + 4), body]);
}

function bsonFindOk(doc) {
  let p = 4;
  while (p < doc.length - 1) {
    const type = doc[p++];
    const end = doc.indexOf(0, p);
    const name = doc.toString("utf8", p, end);
    p = end + 1;
    let val;
    switch (type) {
      case 0x01: val = doc.readDoubleLE(p); p += 8; break;
      case 0x02: p += 4 + doc.readInt32LE(p); break;
      case 0x03: case 0x04: p += doc.readInt32LE(p); break;
      case 0x08: val = doc[p]; p += 1; break;
      case 0x10: val = doc.readInt32LE(p); p += 4; break;
      case 0x12: val = Number(doc.readBigInt64LE(p)); p += 8; break;
      case 0x09: case 0x11: p += 8; break;
      case 0x0a: break;
      default: return undefined;
    }
    if (name === "ok") return val;
  }
  return undefined;
}

function rawMongoPing(host, port) {
  return new Promise((resolve, reject) => {
    const doc = bsonPingDoc();
    const header = Buffer.alloc(16);
    const payload = Buffer.concat([Buffer.alloc(4) /* flagBits */, Buffer.from([0]) /* section kind 0 */, doc]);
    header.writeInt32LE(16 + payload.length, 0);
    header.writeInt32LE(1, 4); // requestID
    header.writeInt32LE(0, 8); // responseTo
    header.writeInt32LE(2013, 12); // OP_MSG
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    sock.setTimeout(TIMEOUT_MS, () => sock.destroy(new Error(`timeout after ${TIMEOUT_MS} ms`)));
    sock.on("error", reject);
    sock.on("connect", () => sock.write(Buffer.concat([header, payload])));
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= buf.readInt32LE(0)) {
        sock.destroy();
        if (buf.readInt32LE(12) !== 2013) return reject(new Error(`unexpected opCode ${buf.readInt32LE(12)}`));
        const ok = bsonFindOk(buf.subarray(21));
        ok === 1 ? resolve() : reject(new Error(`ping answered ok=${ok}`));
      }
    });
  });
}

async function mongoPing(urlStr) {
  const simple = /^mongodb:\/\/([^/@,?]+?)(?::(\d+))?\/?$/.exec(urlStr);
  if (simple) return rawMongoPing(simple[1], Number(simple[2] || 27017));
  // Anything fancier (auth, TLS, SRV, replica sets): use the official driver if the repo has it.
  const require = createRequire(import.meta.url);
  let MongoClient;
  try {
    ({ MongoClient } = require("mongodb"));
  } catch {
    console.error(`cannot ping ${urlStr.replace(/\/\/[^@]*@/, "//***@")} without the 'mongodb' package; skipped`);
    return;
  }
  const client = new MongoClient(urlStr, { serverSelectionTimeoutMS: TIMEOUT_MS });
  try {
    await client.db("admin").command({ ping: 1 });
  } finally {
    await client.close();
  }
}

// ---------- main ----------
const [cmd, ...a] = process.argv.slice(2);
try {
  switch (cmd) {
    case "http": {
      const r = await request(a[0], { ca: a[1] });
      console.log(r.status);
      break;
    }
    case "mongo":
      await mongoPing(a[0]);
      break;
    case "s3": {
      const r = await s3Request(a[0], a[1], a[2], a[3], a[4], a[5]);
      console.log(r.status);
      if (process.env.SKYFERRY_PROBE_VERBOSE) console.log(r.body);
      break;
    }
    case "s3-ready": {
      const [ep, region, ak, sk, bucket] = a;
      const put = await s3Request(ep, region, ak, sk, "PUT", `/${bucket}`);
      if (put.status >= 300) throw new Error(`CreateBucket ${bucket}: HTTP ${put.status} ${put.body.slice(0, 300)}`);
      const del = await s3Request(ep, region, ak, sk, "DELETE", `/${bucket}`);
      if (del.status >= 300) throw new Error(`DeleteBucket ${bucket}: HTTP ${del.status} ${del.body.slice(0, 300)}`);
      break;
    }
    case "azure-list": {
      const r = await azureListContainers(a[0], a[1], a[2], a[3]);
      if (r.status !== 200) throw new Error(`List Containers: HTTP ${r.status} ${r.body.slice(0, 300)}`);
      break;
    }
    default:
      throw new Error(`unknown probe '${cmd}'`);
  }
} catch (err) {
  console.error(`probe ${cmd}: ${err.message}`);
  process.exit(1);
}
