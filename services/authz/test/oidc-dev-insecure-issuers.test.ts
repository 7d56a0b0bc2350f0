import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "@skyferry/config";
import { loadAuthzConfig, type OidcProviderConfig } from "../src/config.ts";
import { createOidcProviders, resolveProvider } from "../src/oidc/providers.ts";

const provider = (issuer: string, allow_insecure_http?: boolean): OidcProviderConfig => ({
  name: "dev",
  issuer,
  client_id: "skyferry-local",
  client_secret: "s3cret",
  ...(allow_insecure_http === undefined ? {} : { allow_insecure_http }),
});

const baseEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
  SKYFERRY_ENCRYPTION_KEYS: JSON.stringify({ k1: Buffer.alloc(32, 7).toString("base64") }),
  SKYFERRY_ENCRYPTION_KEY_ID: "k1",
  SKYFERRY_ACTOR_PUBLIC_KEY_FILE: "/run/secrets/actor.pub.pem",
  SKYFERRY_OIDC_PROVIDERS: JSON.stringify([provider("http://oidc:18090", true)]),
  ...extra,
});

describe("resolveProvider: plain-http issuers", () => {
  test("a loopback plain-http issuer with allow_insecure_http is accepted without the development flag", () => {
    for (const issuer of ["http://127.0.0.1:18090", "http://localhost:18090", "http://[::1]:18090"]) {
      assert.equal(resolveProvider(provider(issuer, true)).insecureHttp, true, issuer);
    }
  });

  test("a non-loopback plain-http issuer is refused without the flag, even with allow_insecure_http", () => {
    assert.throws(() => resolveProvider(provider("http://oidc:18090", true)), /plain-http issuer http:\/\/oidc:18090 is not loopback.*SKYFERRY_OIDC_DEV_INSECURE_ISSUERS=true/);
    assert.throws(() => resolveProvider(provider("http://oidc:18090", true), { devInsecureIssuers: false }), /not loopback/);
  });

  test("with the flag, a non-loopback plain-http issuer with allow_insecure_http is accepted (insecure requests allowed)", () => {
    const settings = resolveProvider(provider("http://oidc:18090", true), { devInsecureIssuers: true });
    assert.equal(settings.insecureHttp, true);
    assert.equal(settings.issuer, "http://oidc:18090");
  });

  test("the flag alone does not allow plain http: the provider must still say allow_insecure_http", () => {
    assert.throws(() => resolveProvider(provider("http://oidc:18090"), { devInsecureIssuers: true }), /needs allow_insecure_http/);
    assert.throws(() => resolveProvider(provider("http://oidc:18090", false), { devInsecureIssuers: true }), /needs allow_insecure_http/);
  });

  test("an https issuer never uses insecure requests, flag or not", () => {
    assert.equal(resolveProvider(provider("https://accounts.example.org"), { devInsecureIssuers: true }).insecureHttp, false);
    assert.equal(resolveProvider(provider("https://accounts.example.org", true)).insecureHttp, false);
  });
});

describe("SKYFERRY_OIDC_DEV_INSECURE_ISSUERS at start-up (loadAuthzConfig)", () => {
  test("off by default: the service refuses a non-loopback plain-http issuer", () => {
    const config = loadAuthzConfig(baseEnv({}));
    assert.equal(config.SKYFERRY_OIDC_DEV_INSECURE_ISSUERS, false);
    assert.throws(() => createOidcProviders(config.SKYFERRY_OIDC_PROVIDERS, { devInsecureIssuers: config.SKYFERRY_OIDC_DEV_INSECURE_ISSUERS }), /not loopback/);
  });

  test("on (not production): the service accepts the compose issuer http://oidc:18090", () => {
    for (const NODE_ENV of [undefined, "development", "test"]) {
      const config = loadAuthzConfig(baseEnv({ SKYFERRY_OIDC_DEV_INSECURE_ISSUERS: "true", ...(NODE_ENV ? { NODE_ENV } : {}) }));
      assert.equal(config.SKYFERRY_OIDC_DEV_INSECURE_ISSUERS, true);
      // As the service wires it (accounts.ts): the flag from the loaded config.
      const oidc = createOidcProviders(config.SKYFERRY_OIDC_PROVIDERS, { devInsecureIssuers: config.SKYFERRY_OIDC_DEV_INSECURE_ISSUERS });
      assert.deepEqual(oidc.names(), ["dev"]);
      assert.equal(oidc.settings("dev").insecureHttp, true, `NODE_ENV=${NODE_ENV}`);
      assert.ok(Object.isFrozen(config));
    }
  });

  test("on with NODE_ENV=production: refused with a ConfigError naming the variable", () => {
    assert.throws(
      () => loadAuthzConfig(baseEnv({ SKYFERRY_OIDC_DEV_INSECURE_ISSUERS: "true", NODE_ENV: "production" })),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 1 && /^SKYFERRY_OIDC_DEV_INSECURE_ISSUERS: .*NODE_ENV=production/.test(err.problems[0]!),
    );
  });

  test("off with NODE_ENV=production is fine (loopback-only rule as before)", () => {
    const config = loadAuthzConfig(baseEnv({ NODE_ENV: "production", SKYFERRY_OIDC_PROVIDERS: JSON.stringify([provider("http://127.0.0.1:18090", true)]) }));
    assert.equal(createOidcProviders(config.SKYFERRY_OIDC_PROVIDERS).settings("dev").insecureHttp, true);
  });

  test("the flag cannot be smuggled in through the provider JSON", () => {
    const env = baseEnv({ SKYFERRY_OIDC_PROVIDERS: JSON.stringify([{ ...provider("http://oidc:18090", true), dev_insecure_issuers: true }]) });
    assert.throws(() => loadAuthzConfig(env), ConfigError);
  });

  test("a value that is not a boolean is a ConfigError", () => {
    assert.throws(() => loadAuthzConfig(baseEnv({ SKYFERRY_OIDC_DEV_INSECURE_ISSUERS: "maybe" })), (err: unknown) => err instanceof ConfigError && /SKYFERRY_OIDC_DEV_INSECURE_ISSUERS/.test(err.message));
  });
});
