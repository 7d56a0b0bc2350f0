import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** A new secret with `bytes` random bytes, as lowercase hex. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString("hex");
}

/** SHA-256 hex of a high-entropy secret (API key, session id, login state): what we store. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Constant-time comparison of two hex digests. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
