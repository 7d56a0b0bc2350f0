import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { createGrants } from "../src/crypto/grants.ts";

const k1 = randomBytes(32).toString("base64");
const k2 = randomBytes(32).toString("hex");
const USER = "0123456789abcdef";
const AUTHZ = "fedcba9876543210";
const code = (c: string) => (err: unknown) => (err as { code?: string; status?: number }).code === c && (err as { status?: number }).status === 401;

test("a grant authz issued verifies to its user and authorization, also after the current key rotated", () => {
  let t = Date.parse("2026-01-01T00:00:00Z");
  const now = () => new Date(t);
  const a = createGrants({ keys: { one: k1 }, current: "one", now });
  const grant = a.issue(USER, AUTHZ);
  assert.deepEqual(a.verify(grant), { user_id: USER, authz_id: AUTHZ });
  const rotated = createGrants({ keys: { one: k1, two: k2 }, current: "two", now });
  assert.deepEqual(rotated.verify(grant), { user_id: USER, authz_id: AUTHZ });
  t += 31 * 24 * 3600 * 1000;
  assert.throws(() => a.verify(grant), code("AUTHZ_GRANT_EXPIRED"), "a grant lasts 30 days");
});

test("a forged, altered or foreign grant is refused with AUTHZ_GRANT_INVALID", () => {
  const now = () => new Date();
  const a = createGrants({ keys: { one: k1 }, current: "one", now });
  const other = createGrants({ keys: { one: k2 }, current: "one", now });
  assert.throws(() => a.verify(other.issue(USER, AUTHZ)), code("AUTHZ_GRANT_INVALID"), "signed with another deployment's key");
  const [g, kid, , tag] = a.issue(USER, AUTHZ).split(".");
  const body = Buffer.from(JSON.stringify({ u: "aaaaaaaaaaaaaaaa", a: AUTHZ, exp: 9e9 })).toString("base64url");
  assert.throws(() => a.verify(`${g}.${kid}.${body}.${tag}`), code("AUTHZ_GRANT_INVALID"), "another user's id put in");
  assert.throws(() => a.verify("g1.nokey.e30.AAAA"), code("AUTHZ_GRANT_INVALID"));
  assert.throws(() => a.verify("not a grant"), code("AUTHZ_GRANT_INVALID"));
});
