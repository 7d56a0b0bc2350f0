import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction, type Socket } from "node:net";
import { OutboundRefusedError } from "./errors.ts";
import type { OutboundPolicy } from "./policy.ts";

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

const refusedAt = (host: string, why: string) =>
  new OutboundRefusedError(`The destination ${host.slice(0, 253)} is not allowed: ${why}; only public addresses are reachable unless the operator allows it (SKYFERRY_OUTBOUND_ALLOW).`);

/**
 * A `lookup` for net/tls connections that resolves the name and refuses the connection when ANY
 * of its addresses is refused. The check is on the addresses the socket then connects to, so a
 * name that resolves differently later (DNS rebinding) cannot slip a refused address in between.
 */
export function guardedLookup(policy: OutboundPolicy, port: number): LookupFunction {
  return ((hostname: string, options: LookupOptions, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const a of addresses) {
        const why = policy.addressRefusal(a.address, port);
        if (why) return callback(refusedAt(hostname, `it resolves to a refused address (${why})`) as NodeJS.ErrnoException, []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), []);
      callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}

/**
 * Guards one connection's options: an IP literal is judged at once (net skips `lookup` for
 * literals); a name gets the guarded lookup unless the operator allowlisted it.
 * @returns the options to connect with, or the refusal.
 */
export function guardConnection<T extends { host?: string | null | undefined; hostname?: string | null | undefined; port?: number | string | null | undefined; lookup?: LookupFunction | undefined }>(
  policy: OutboundPolicy,
  options: T,
  defaultPort: number,
): { options: T & { lookup?: LookupFunction } } | { refused: OutboundRefusedError } {
  const raw = options.hostname ?? options.host ?? "localhost";
  const host = raw.startsWith("[") ? raw.slice(1, -1) : raw;
  const port = Number(options.port ?? defaultPort) || defaultPort;
  if (isIP(host)) {
    const why = policy.addressRefusal(host, port);
    return why ? { refused: refusedAt(host, why) } : { options };
  }
  if (policy.nameAllowed(host, port)) return { options };
  return { options: { ...options, lookup: guardedLookup(policy, port) } };
}

type CreateConnection = (options: never, callback: (err: Error | null, socket?: Socket) => void) => Socket | undefined;

/**
 * A connection in use that moves no byte either way for `ms` is destroyed with ETIMEDOUT, which
 * fails its request (and its response body, mid-stream) as a network error that clients retry.
 * One left idle in the agent's pool is the agent's to close (its own timeout handler does).
 */
function idleTimeout(agent: http.Agent, socket: Socket, ms: number): void {
  socket.setTimeout(ms);
  socket.on("timeout", () => {
    const pooled = Object.values(agent.freeSockets).some((list) => list?.includes(socket));
    if (!pooled) socket.destroy(Object.assign(new Error(`no bytes either way for ${ms} ms`), { code: "ETIMEDOUT" }));
  });
}

function guarded<A extends http.Agent>(agent: A, policy: OutboundPolicy, defaultPort: number, idleTimeoutMs?: number): A {
  const original = (agent as unknown as { createConnection: CreateConnection }).createConnection.bind(agent);
  const armed = new WeakSet<Socket>();
  const arm = (socket: Socket | undefined) => {
    if (!socket || !idleTimeoutMs || armed.has(socket)) return;
    armed.add(socket);
    idleTimeout(agent, socket, idleTimeoutMs);
  };
  if (idleTimeoutMs) {
    // A kept-alive connection returned to the pool has its timeout cleared by the agent
    // (keepSocketAlive); it is set again when a request takes it (reuseSocket, documented).
    const reuse = agent.reuseSocket.bind(agent);
    agent.reuseSocket = (socket, request) => {
      reuse(socket, request);
      (socket as Socket).setTimeout(idleTimeoutMs);
    };
  }
  // Agent.createSocket supports an asynchronous createConnection: returning nothing and calling
  // back with an error fails the request without a socket ever being made.
  (agent as unknown as { createConnection: CreateConnection }).createConnection = (options, callback) => {
    const g = guardConnection(policy, options as { host?: string; port?: number }, defaultPort);
    if ("refused" in g) {
      process.nextTick(callback, g.refused);
      return undefined;
    }
    const socket = original(g.options as never, (err, s) => {
      arm(s);
      callback(err, s);
    });
    arm(socket);
    return socket;
  };
  return agent;
}

/**
 * Node http and https agents whose every new connection passes the policy first (for the AWS SDK,
 * the Azure SDK, fetches); with `idleTimeoutMs`, a connection in use that stalls that long fails.
 */
export function guardedAgents(policy: OutboundPolicy, options: http.AgentOptions = { keepAlive: true }, idleTimeoutMs?: number): { http: http.Agent; https: https.Agent } {
  return { http: guarded(new http.Agent(options), policy, 80, idleTimeoutMs), https: guarded(new https.Agent(options), policy, 443, idleTimeoutMs) };
}
