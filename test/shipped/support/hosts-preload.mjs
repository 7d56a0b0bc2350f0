// Loaded with `node --import` by native-services.ts: makes the host names of a deployment file
// (nats, mongodb, oidc, history, ...) resolve to loopback addresses, so a service started natively
// keeps the exact values the file gives it (nats://nats:4222, issuer http://oidc:18090). The map is
// JSON in SKYFERRY_TEST_HOSTS ({"nats":"127.0.0.1","oidc":"127.0.0.2"}), a variable only the test
// harness sets. Every connection Node makes (net, tls, http, fetch/undici) resolves through
// dns.lookup at call time, so patching it (and the ESM named exports) covers the drivers too.
import dns from "node:dns";
import { syncBuiltinESMExports } from "node:module";
import { isIP } from "node:net";

const hosts = JSON.parse(process.env.SKYFERRY_TEST_HOSTS ?? "{}");
for (const [name, address] of Object.entries(hosts)) {
  if (!isIP(address)) throw new Error(`SKYFERRY_TEST_HOSTS: ${name} maps to ${address}, not an IP address`);
}
const mapped = (hostname) => (typeof hostname === "string" ? hosts[hostname.toLowerCase().replace(/\.$/, "")] : undefined);

const lookup = dns.lookup;
dns.lookup = function mappedLookup(hostname, options, callback) {
  const address = mapped(hostname);
  if (address === undefined) return lookup.call(this, hostname, options, callback);
  const cb = typeof options === "function" ? options : callback;
  const all = typeof options === "object" && options !== null && options.all === true;
  const family = isIP(address);
  process.nextTick(() => (all ? cb(null, [{ address, family }]) : cb(null, address, family)));
  return {};
};

const promisesLookup = dns.promises.lookup;
dns.promises.lookup = async function mappedPromisesLookup(hostname, options) {
  const address = mapped(hostname);
  if (address === undefined) return promisesLookup.call(this, hostname, options);
  const family = isIP(address);
  return typeof options === "object" && options !== null && options.all === true ? [{ address, family }] : { address, family };
};
syncBuiltinESMExports();
