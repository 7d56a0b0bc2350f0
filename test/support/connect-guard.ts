// The SSRF tests' proof that nothing is connected to an address the outbound policy refuses, and
// that no test traffic leaves loopback: every net/tls connection made in this process (the
// services run in it) passes through here first. A connection to a non-loopback address, or a name
// resolving to one, is recorded as a violation and failed before any packet is sent. Names under
// `.skyferry.test` resolve from a table the test controls (a hosts-file stand-in), so DNS rebinding
// can be staged without a DNS server.
import dns, { type LookupAddress } from "node:dns";
import { syncBuiltinESMExports } from "node:module";
import net from "node:net";
import ipaddr from "ipaddr.js";

export interface ConnectGuard {
  /** Every connection attempt (address actually dialled) in this process since install. */
  attempts: Array<{ address: string; port: number }>;
  /** Attempts to a non-loopback address (all failed before connecting). */
  violations: string[];
  /** Sets what a `*.skyferry.test` name resolves to. */
  resolve(name: string, address: string): void;
  uninstall(): void;
}

const isLoopback = (address: string): boolean => ipaddr.isValid(address) && ipaddr.process(address).range() === "loopback";

/**
 * @param guardOptions.offline every name but `localhost` and `*.skyferry.test` fails to resolve
 *   (ENOTFOUND) without a DNS query: for fuzzing, where generated hosts must not reach a resolver.
 */
export function installConnectGuard(guardOptions: { offline?: boolean } = {}): ConnectGuard {
  const attempts: ConnectGuard["attempts"] = [];
  const violations: string[] = [];
  const table = new Map<string, string>();
  const originalConnect = net.Socket.prototype.connect;
  const originalLookup = dns.lookup;
  const originalPromisesLookup = dns.promises.lookup;

  type Cb = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
  const fakeLookup = ((hostname: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === "function" ? options : callback) as Cb;
    const opts = (typeof options === "object" && options !== null ? options : {}) as { all?: boolean };
    const mapped = hostname.endsWith(".skyferry.test") ? table.get(hostname) : undefined;
    if (guardOptions.offline && !net.isIP(hostname) && hostname !== "localhost" && !hostname.endsWith(".skyferry.test")) {
      return process.nextTick(cb, Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (offline test)`), { code: "ENOTFOUND" }), []);
    }
    if (hostname.endsWith(".skyferry.test")) {
      if (!mapped) return process.nextTick(cb, Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), []);
      const family = mapped.includes(":") ? 6 : 4;
      return process.nextTick(() => (opts.all ? cb(null, [{ address: mapped, family }]) : cb(null, mapped, family)));
    }
    return (originalLookup as (...a: unknown[]) => void)(hostname, options, callback);
  }) as typeof dns.lookup;
  dns.lookup = fakeLookup;
  dns.promises.lookup = ((hostname: string, options?: { all?: boolean }) =>
    new Promise((resolve, reject) => fakeLookup(hostname, { ...options }, (err: Error | null, address: unknown, family?: number) => (err ? reject(err) : resolve((options?.all ? address : { address, family }) as LookupAddress))))) as typeof dns.promises.lookup;
  syncBuiltinESMExports();

  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    this.on("connectionAttempt", (address: string, port: number) => attempts.push({ address, port }));
    const first = args[0];
    if (first && typeof first === "object" && !Array.isArray(first) && !(first as { path?: string }).path) {
      const o = first as { host?: string; port?: number; lookup?: typeof dns.lookup };
      const host = (o.host ?? "localhost").replace(/^\[|\]$/g, "");
      if (net.isIP(host)) {
        if (!isLoopback(host)) {
          violations.push(`${host}:${o.port}`);
          process.nextTick(() => this.destroy(new Error(`connect guard: ${host} is not loopback`)));
          return this;
        }
      } else {
        const inner = o.lookup ?? dns.lookup;
        const checked = ((hostname: string, options: object, cb: Cb) =>
          (inner as (...a: unknown[]) => void)(hostname, options, (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => {
            if (err) return cb(err, address, family);
            const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
            const outside = list.find((a) => !isLoopback(a));
            if (outside) {
              violations.push(`${hostname}=${outside}:${o.port}`);
              return cb(Object.assign(new Error(`connect guard: ${hostname} resolves to ${outside}, not loopback`), { code: "ECONNREFUSED" }), []);
            }
            cb(null, address, family);
          })) as typeof dns.lookup;
        args[0] = { ...o, lookup: checked };
      }
    }
    return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;

  return {
    attempts,
    violations,
    resolve: (name, address) => void table.set(name, address),
    uninstall() {
      net.Socket.prototype.connect = originalConnect;
      dns.lookup = originalLookup;
      dns.promises.lookup = originalPromisesLookup;
      syncBuiltinESMExports();
    },
  };
}
