import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import type { LookupFunction } from "node:net";
import { type AddressPolicy, refusal } from "./address-policy.ts";
import { forbidden } from "./errors.ts";

/**
 * A `lookup` for http.request that resolves the name and refuses the connection when ANY of its
 * addresses is not allowed. The check happens on the addresses the socket then connects to, so a
 * name that resolves differently later (DNS rebinding) cannot slip a private address in between.
 */
export function guardedLookup(policy: AddressPolicy): LookupFunction {
  return ((hostname: string, options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const a of addresses) {
        const why = refusal(a.address, policy);
        if (why) return callback(forbidden(`${hostname} resolves to a refused address (${why})`) as NodeJS.ErrnoException, []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), []);
      callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}
