import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type MockOidc, oidcEnv, signIn, startOidcProvider } from "../support/auth.ts";
import { startSystem, type System } from "../support/system.ts";

describe("sign-in with OpenID Connect through the gateway", () => {
  let oidc: MockOidc;
  let sys: System;
  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "signin", services: ["authz", "gateway"], env: { authz: oidcEnv(oidc) } });
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
  });

  test("the authorization-code flow signs a user in and a key authenticates them", async () => {
    const u = await signIn(sys, { email: "ada@example.org" });
    assert.match(u.userId, /^[0-9a-f]{16}$/);
    assert.match(u.apiKey, /^[0-9a-f]{64}$/);
    assert.equal(u.email, "ada@example.org");
  });
});
