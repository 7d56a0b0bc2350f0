import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fetchUrl, type FetchUrlOptions, isUrlFetchError, refusal, type UrlFetchErrorCode } from "../src/index.ts";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A node:http server on a loopback address counting the requests it receives. */
async function serve(host: string, handler: Handler): Promise<{ url: string; port: number; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  server.listen(0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    hits: () => hits,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

async function readAll(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function rejectsWith(p: Promise<unknown>, code: UrlFetchErrorCode, status?: number): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isUrlFetchError(err), `expected a UrlFetchError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (status !== undefined) assert.equal(err.status, status);
    assert.equal(err.errCode, status === 413 ? 413001 : 400008);
    return true;
  });
}

const OPEN: FetchUrlOptions = { allowPrivate: true, maxBytes: 1 << 20, timeoutMs: 5000, maxRedirects: 3 };
const CLOSED: FetchUrlOptions = { ...OPEN, allowPrivate: false };
const payload = randomBytes(200_000);

describe("fetchUrl against a local server", () => {
  let a: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    a = await serve("127.0.0.1", (req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      switch (u.pathname) {
        case "/file.bed":
          res.writeHead(200, { "content-type": "text/plain", "content-length": payload.length });
          return res.end(payload);
        case "/download":
          res.writeHead(200, { "content-disposition": `attachment; filename*=UTF-8''r%C3%A9sultat%20final.tsv; filename="fallback.tsv"` });
          return res.end("a\tb\n");
        case "/evil-name":
          res.writeHead(200, { "content-disposition": 'attachment; filename="../../etc/passwd"' });
          return res.end("x");
        case "/chunked":
          res.writeHead(200, { "content-type": "application/octet-stream" });
          res.write(payload);
          return res.end(payload);
        case "/stall-headers":
          return; // never answers
        case "/stall-body":
          res.writeHead(200, { "content-length": 1000 });
          return res.write(Buffer.alloc(10));
        case "/cut":
          res.writeHead(200, { "content-length": 1000 });
          res.write(Buffer.alloc(10));
          return setTimeout(() => res.socket?.destroy(), 50);
        case "/missing":
          res.writeHead(404);
          return res.end();
        case "/hop": {
          const n = Number(u.searchParams.get("n"));
          res.writeHead(302, { location: n > 0 ? `/hop?n=${n - 1}` : "/file.bed" });
          return res.end();
        }
        case "/to":
          res.writeHead(307, { location: u.searchParams.get("target") ?? "/" });
          return res.end();
      }
    });
  });
  after(() => a.close());

  test("streams a body byte-identical with length, type and the URL's file name", async () => {
    const r = await fetchUrl(`${a.url}/file.bed?x=1`, OPEN);
    assert.equal(r.contentLength, payload.length);
    assert.equal(r.contentType, "text/plain");
    assert.equal(r.filename, "file.bed");
    assert.equal(createHash("sha256").update(await readAll(r.body)).digest("hex"), createHash("sha256").update(payload).digest("hex"));
  });

  test("takes the file name from Content-Disposition (RFC 5987 first) and never a path", async () => {
    const r = await fetchUrl(`${a.url}/download`, OPEN);
    assert.equal(r.filename, "résultat final.tsv");
    assert.equal(r.contentLength, null);
    await readAll(r.body);
    const evil = await fetchUrl(`${a.url}/evil-name`, OPEN);
    assert.equal(evil.filename, "passwd");
    await readAll(evil.body);
  });

  test("follows relative redirects up to the limit, then refuses", async () => {
    const r = await fetchUrl(`${a.url}/hop?n=2`, OPEN);
    assert.equal(r.url, `${a.url}/file.bed`);
    assert.ok((await readAll(r.body)).equals(payload));
    await rejectsWith(fetchUrl(`${a.url}/hop?n=3`, OPEN), "URL_TOO_MANY_REDIRECTS", 400);
  });

  test("a declared Content-Length over the limit fails before the body; an undeclared one while streaming", async () => {
    await rejectsWith(fetchUrl(`${a.url}/file.bed`, { ...OPEN, maxBytes: payload.length - 1 }), "URL_TOO_LARGE", 413);
    const r = await fetchUrl(`${a.url}/chunked`, { ...OPEN, maxBytes: payload.length + 10 });
    assert.equal(r.contentLength, null);
    await rejectsWith(readAll(r.body), "URL_TOO_LARGE", 413);
    const exact = await fetchUrl(`${a.url}/file.bed`, { ...OPEN, maxBytes: payload.length });
    assert.equal((await readAll(exact.body)).length, payload.length, "exactly maxBytes is allowed");
  });

  test("the deadline covers waiting for headers and streaming the body", async () => {
    const t0 = Date.now();
    await rejectsWith(fetchUrl(`${a.url}/stall-headers`, { ...OPEN, timeoutMs: 300 }), "URL_TIMEOUT", 400);
    assert.ok(Date.now() - t0 < 2000);
    const r = await fetchUrl(`${a.url}/stall-body`, { ...OPEN, timeoutMs: 300 });
    await rejectsWith(readAll(r.body), "URL_TIMEOUT", 400);
  });

  test("a caller's abort stops the fetch", async () => {
    const ac = new AbortController();
    const p = fetchUrl(`${a.url}/stall-headers`, { ...OPEN, signal: ac.signal });
    setTimeout(() => ac.abort(new Error("client went away")), 100);
    await assert.rejects(p, /client went away/);
  });

  test("HTTP errors, refused connections, unknown hosts and cut-off bodies are URL_UNREACHABLE", async () => {
    await rejectsWith(fetchUrl(`${a.url}/missing`, OPEN), "URL_UNREACHABLE", 400);
    const dead = await serve("127.0.0.1", () => undefined);
    const deadUrl = dead.url;
    await dead.close();
    await rejectsWith(fetchUrl(`${deadUrl}/x`, OPEN), "URL_UNREACHABLE", 400);
    await rejectsWith(fetchUrl("http://no-such-host.invalid/x", OPEN), "URL_UNREACHABLE", 400);
    const r = await fetchUrl(`${a.url}/cut`, OPEN);
    await rejectsWith(readAll(r.body), "URL_UNREACHABLE", 400);
  });

  test("only http and https, without credentials", async () => {
    for (const url of ["ftp://example.org/x", "file:///etc/passwd", "data:text/plain,hi", "gopher://x/", "not a url", `http://user:pw@127.0.0.1:${a.port}/file.bed`]) {
      await rejectsWith(fetchUrl(url, OPEN), "URL_FORBIDDEN", 400);
    }
  });
});

describe("fetchUrl refuses non-public addresses unless allowPrivate", () => {
  let a: Awaited<ReturnType<typeof serve>>;
  let b: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    a = await serve("127.0.0.1", (req, res) => {
      const target = new URL(req.url ?? "/", "http://x").searchParams.get("target");
      if (target) {
        res.writeHead(302, { location: target });
        return res.end();
      }
      res.end("secret");
    });
    // 127.0.0.2 is loopback too (Linux routes all of 127/8 to lo) but outside the allowlist below.
    b = await serve("127.0.0.2", (_req, res) => res.end("internal"));
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  test("loopback literals and a name resolving to loopback are refused before any request", async () => {
    for (const url of [`${a.url}/`, `http://localhost:${a.port}/`, `http://[::ffff:127.0.0.1]:${a.port}/`, `http://2130706433:${a.port}/`, `http://0x7f.1:${a.port}/`]) {
      await rejectsWith(fetchUrl(url, CLOSED), "URL_FORBIDDEN", 400);
    }
    assert.equal(a.hits(), 0, "the loopback server never saw a request");
    const ok = await fetchUrl(`http://localhost:${a.port}/`, OPEN);
    assert.equal((await readAll(ok.body)).toString(), "secret", "allowPrivate lets the same name through");
  });

  test("private, link-local, unique-local, multicast, unspecified and mapped addresses are refused", async () => {
    const refused = ["10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "192.0.2.1"];
    for (const ip of refused) assert.notEqual(refusal(ip, { allowPrivate: false }), null, `${ip} must be refused`);
    for (const ip of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) assert.equal(refusal(ip, { allowPrivate: false }), null, `${ip} is public`);
    for (const host of ["10.1.2.3", "169.254.169.254", "[fe80::1]", "[fd00::1]", "[::ffff:192.168.0.1]", "0.0.0.0", "[::]"]) {
      await rejectsWith(fetchUrl(`http://${host}/x`, { ...CLOSED, timeoutMs: 2000 }), "URL_FORBIDDEN", 400);
    }
  });

  test("a redirect is checked again: from an allowed host to a refused address is refused", async () => {
    const allow = { ...CLOSED, allowlist: ["127.0.0.1/32"] };
    const direct = await fetchUrl(`${a.url}/`, allow);
    assert.equal((await readAll(direct.body)).toString(), "secret", "the allowlisted address is fetched");
    await rejectsWith(fetchUrl(`${a.url}/?target=${encodeURIComponent(`${b.url}/`)}`, allow), "URL_FORBIDDEN", 400);
    await rejectsWith(fetchUrl(`${a.url}/?target=${encodeURIComponent(`http://[::1]:${b.port}/`)}`, allow), "URL_FORBIDDEN", 400);
    assert.equal(b.hits(), 0, "the refused server never saw a request");
    await rejectsWith(fetchUrl(`${a.url}/?target=${encodeURIComponent("file:///etc/passwd")}`, allow), "URL_FORBIDDEN", 400);
    const open = await fetchUrl(`${a.url}/?target=${encodeURIComponent(`${b.url}/`)}`, OPEN);
    assert.equal((await readAll(open.body)).toString(), "internal", "with allowPrivate the same redirect is followed");
    assert.equal(b.hits(), 1);
  });
});
