import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { checkDestination, createOutboundPolicy, guardedAgents, isOutboundRefused, parseAllowlist, resolveDestination } from "../src/index.ts";

const closed = createOutboundPolicy();

describe("the outbound policy", () => {
  test("refuses every non-public address form and allows public unicast", () => {
    const refused = ["127.0.0.1", "127.1.2.3", "0.0.0.0", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "224.0.0.1", "::1", "::", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::", "64:ff9b::7f00:1"];
    for (const ip of refused) assert.notEqual(closed.addressRefusal(ip, 80), null, `${ip} must be refused`);
    for (const ip of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) assert.equal(closed.addressRefusal(ip, 443), null, `${ip} is public`);
  });

  test("URL forms of loopback (decimal, hex, short, octal, bracketed, mapped) are refused without DNS", () => {
    for (const url of ["http://2130706433/", "http://0x7f000001/", "http://127.1/", "http://0177.0.0.1/", "http://[::1]:7480/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://169.254.169.254/latest"]) {
      assert.throws(() => checkDestination(url, closed, "config.endpoint"), (e: unknown) => isOutboundRefused(e) && (e as { status: number }).status === 400, url);
    }
    assert.throws(() => checkDestination("ftp://example.org/", closed, "config.endpoint"), /only http and https/);
    assert.throws(() => checkDestination("http://u:p@example.org/", closed, "config.endpoint"), /credentials/);
  });

  test("a name resolving to loopback is refused at create time (localhost via the hosts file)", async () => {
    await assert.rejects(resolveDestination("http://localhost:7480", closed, "config.endpoint"), /resolves to a refused address/);
  });

  test("the allowlist opens exactly its entries: CIDR, IP:port, [IPv6]:port, names", () => {
    const p = createOutboundPolicy({ allow: ["127.0.0.1:7480", "10.0.0.0/8", "[::1]:10000", "rgw:7480"] });
    assert.equal(p.addressRefusal("127.0.0.1", 7480), null);
    assert.notEqual(p.addressRefusal("127.0.0.1", 7481), null, "another port of an allowlisted IP");
    assert.equal(p.addressRefusal("10.9.8.7", 1), null);
    assert.equal(p.addressRefusal("::1", 10000), null);
    assert.notEqual(p.addressRefusal("::1", 22), null);
    assert.equal(p.nameAllowed("RGW", 7480), true);
    assert.equal(p.nameAllowed("rgw", 80), false);
    assert.throws(() => parseAllowlist(["not a host", "300.1.1.1/8"]), /'not a host', '300.1.1.1\/8'/);
  });
});

describe("guarded agents refuse before connecting", () => {
  let server: net.Server;
  let port = 0;
  let connections = 0;
  const sockets = new Set<net.Socket>();
  before(async () => {
    server = net.createServer((s) => {
      connections++;
      sockets.add(s);
      s.end("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });

  const get = (url: string, agent: http.Agent) =>
    new Promise<number>((resolve, reject) => {
      http.get(url, { agent }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on("error", reject);
    });

  test("an IP literal and a name resolving to loopback fail with OUTBOUND_REFUSED and no connection", async () => {
    const agents = guardedAgents(closed);
    await assert.rejects(get(`http://127.0.0.1:${port}/`, agents.http), (e: unknown) => isOutboundRefused(e));
    await assert.rejects(get(`http://localhost:${port}/`, agents.http), (e: unknown) => isOutboundRefused(e));
    assert.equal(connections, 0);
  });

  test("an allowlisted IP:port connects", async () => {
    const agents = guardedAgents(createOutboundPolicy({ allow: [`127.0.0.1:${port}`] }), { keepAlive: false });
    assert.equal(await get(`http://127.0.0.1:${port}/`, agents.http), 204);
    assert.equal(connections, 1);
  });
});

describe("guarded agents with an idle timeout", () => {
  // A server that answers the first request of each connection at once and never answers the
  // second: a fresh connection and a kept-alive one reused each stall once.
  let server: http.Server;
  let port: number;
  before(async () => {
    server = http.createServer((req, res) => {
      const n = ((req.socket as { served?: number }).served = ((req.socket as { served?: number }).served ?? 0) + 1);
      if (req.url === "/stall" || n > 1) return; // no answer, ever
      res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const get = (path: string, agent: http.Agent) =>
    new Promise<string>((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}${path}`, { agent }, (res) => {
        let body = "";
        res.on("data", (b: Buffer) => (body += b.toString())).on("end", () => resolve(body)).on("error", reject);
      }).on("error", reject);
    });
  const timedOut = (e: unknown) => (e as NodeJS.ErrnoException).code === "ETIMEDOUT";

  test("a request on a new connection that gets no answer fails ETIMEDOUT", async () => {
    const { http: agent } = guardedAgents(createOutboundPolicy({ allow: [`127.0.0.1:${port}`] }), { keepAlive: true }, 300);
    await assert.rejects(get("/stall", agent), timedOut);
    agent.destroy();
  });

  test("a kept-alive connection: idle in the pool it stays open; reused and stalled it fails ETIMEDOUT", async () => {
    const { http: agent } = guardedAgents(createOutboundPolicy({ allow: [`127.0.0.1:${port}`] }), { keepAlive: true }, 300);
    assert.equal(await get("/", agent), "ok");
    await new Promise((r) => setTimeout(r, 600)); // twice the timeout, idle in the pool
    const pooled = Object.values(agent.freeSockets).flat();
    assert.equal(pooled.length, 1, "the idle connection is still pooled");
    await assert.rejects(get("/", agent), timedOut); // the same connection's second request: no answer
    agent.destroy();
  });
});
