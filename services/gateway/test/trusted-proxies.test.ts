import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "@skyferry/config";
import { trustedProxies } from "../src/trusted-proxies.ts";

describe("SKYFERRY_TRUSTED_PROXIES", () => {
  test("empty (the default) trusts no proxy", () => {
    assert.equal(trustedProxies(""), false);
    assert.equal(trustedProxies("  "), false);
    assert.equal(trustedProxies("0"), false);
  });

  test("an integer trusts that many hops in front of the gateway, whatever their address", () => {
    const trust = trustedProxies("2");
    assert.equal(typeof trust, "function");
    const fn = trust as (address: string, hop: number) => boolean;
    assert.equal(fn("10.1.2.3", 0), true);
    assert.equal(fn("203.0.113.9", 1), true);
    assert.equal(fn("198.51.100.7", 2), false);
  });

  test("a list of IPs, CIDRs and proxy-addr's named ranges is kept, trimmed", () => {
    assert.deepEqual(trustedProxies(" 127.0.0.1, 10.0.0.0/8,fd00::/8 ,::1, uniquelocal,"), ["127.0.0.1", "10.0.0.0/8", "fd00::/8", "::1", "uniquelocal"]);
  });

  test("bad entries are a ConfigError naming each of them", () => {
    assert.throws(
      () => trustedProxies("10.0.0.0/8, 10.0.0.0/33, ingress.local, 1.2.3, ::1/129, 10.0.0.1/8/8"),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 5);
        for (const bad of ["10.0.0.0/33", "ingress.local", "1.2.3", "::1/129", "10.0.0.1/8/8"]) {
          assert.ok(err.problems.some((p) => p.startsWith(`SKYFERRY_TRUSTED_PROXIES: ${JSON.stringify(bad)} is not`)), bad);
        }
        return true;
      },
    );
  });
});
