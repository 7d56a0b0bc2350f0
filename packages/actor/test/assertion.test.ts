import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { SignJWT } from "jose";
import { createActorSigner, createActorVerifier } from "../src/index.ts";
import { generateActorKeys } from "../src/testing.ts";

const USER = "0123456789abcdef";
const OTHER = "fedcba9876543210";
const keys = generateActorKeys();

async function pair(namespace = "ns-a", now?: () => number) {
  const signer = await createActorSigner({ privateKeyPem: keys.privateKeyPem, namespace, ...(now ? { now } : {}) });
  const verifier = await createActorVerifier({ publicKeyPem: keys.publicKeyPem, namespace: "ns-a", ...(now ? { now } : {}) });
  return { signer, verifier };
}

const refusedWith = (code: string, status: number, token?: string) => (err: unknown) => {
  const e = err as { code: string; status: number; message: string };
  assert.equal(e.code, code);
  assert.equal(e.status, status);
  if (token) assert.ok(!e.message.includes(token), "the token never appears in the error");
  return true;
};

test("an assertion the gateway signed verifies for its user and gives the request id", async () => {
  const { signer, verifier } = await pair();
  const token = await signer.sign({ user_id: USER, request_id: "req-1" });
  assert.equal(token.split(".").length, 3);
  const claims = await verifier.verify(token, { user_id: USER });
  assert.equal(claims.user_id, USER);
  assert.equal(claims.request_id, "req-1");
  assert.ok(claims.expires_at.getTime() - Date.now() <= 60_000);
});

test("a missing assertion is refused with 401 BUS_ACTOR_MISSING", async () => {
  const { verifier } = await pair();
  await assert.rejects(verifier.verify(undefined, { user_id: USER }), refusedWith("BUS_ACTOR_MISSING", 401));
});

test("an assertion for another user is refused with 403 BUS_ACTOR_FOREIGN", async () => {
  const { signer, verifier } = await pair();
  const token = await signer.sign({ user_id: OTHER });
  await assert.rejects(verifier.verify(token, { user_id: USER }), refusedWith("BUS_ACTOR_FOREIGN", 403, token));
});

test("an assertion for another deployment's namespace is refused with 403", async () => {
  const { signer, verifier } = await pair("ns-b");
  const token = await signer.sign({ user_id: USER });
  await assert.rejects(verifier.verify(token, { user_id: USER }), refusedWith("BUS_ACTOR_FOREIGN", 403, token));
});

test("an expired assertion is refused with 401 BUS_ACTOR_EXPIRED", async () => {
  let t = Date.now();
  const { signer, verifier } = await pair("ns-a", () => t);
  const token = await signer.sign({ user_id: USER });
  t += 66_000;
  await assert.rejects(verifier.verify(token, { user_id: USER }), refusedWith("BUS_ACTOR_EXPIRED", 401, token));
});

test("an assertion signed with another key, or tampered with, or not a JWS is refused with 401 BUS_ACTOR_INVALID", async () => {
  const { verifier } = await pair();
  const forger = await createActorSigner({ privateKeyPem: generateActorKeys().privateKeyPem, namespace: "ns-a" });
  const forged = await forger.sign({ user_id: USER });
  await assert.rejects(verifier.verify(forged, { user_id: USER }), refusedWith("BUS_ACTOR_INVALID", 401, forged));
  const { signer } = await pair();
  const [h, , s] = (await signer.sign({ user_id: OTHER })).split(".");
  const body = Buffer.from(JSON.stringify({ sub: USER, aud: "skyferry:ns-a", iss: "skyferry-gateway", iat: 1, exp: 9e9 })).toString("base64url");
  await assert.rejects(verifier.verify(`${h}.${body}.${s}`, { user_id: USER }), refusedWith("BUS_ACTOR_INVALID", 401));
  await assert.rejects(verifier.verify("not-a-token", { user_id: USER }), refusedWith("BUS_ACTOR_INVALID", 401));
});

test("an HMAC-signed or unsigned token is refused (only EdDSA is accepted)", async () => {
  const { verifier } = await pair();
  const hs = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(USER).setIssuer("skyferry-gateway").setAudience("skyferry:ns-a")
    .setIssuedAt().setExpirationTime("1m").sign(new TextEncoder().encode("x".repeat(32)));
  await assert.rejects(verifier.verify(hs, { user_id: USER }), refusedWith("BUS_ACTOR_INVALID", 401));
  const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ sub: USER })).toString("base64url")}.`;
  await assert.rejects(verifier.verify(none, { user_id: USER }), refusedWith("BUS_ACTOR_INVALID", 401));
});

test("a key that is not Ed25519 is refused when the verifier is made", async () => {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  await assert.rejects(
    createActorVerifier({ publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), namespace: "ns-a" }),
    (err: unknown) => (err as { code: string }).code === "ACTOR_KEY_UNUSABLE",
  );
});
