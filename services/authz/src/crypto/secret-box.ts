import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Encryption at rest for secrets (client secrets, keys, SAS tokens, refresh and ID tokens):
 * AES-256-GCM, a fresh 96-bit nonce per value, and the key id stored beside each value so keys
 * can rotate: new values use the current key, old values decrypt with the key they name.
 */
export interface SealedSecret {
  /** Key id (which configured key sealed it). */
  kid: string;
  /** base64url: nonce (12) | ciphertext | tag (16). */
  v: string;
}

export interface SecretBox {
  seal(plaintext: string, context: string): SealedSecret;
  open(sealed: SealedSecret, context: string): string;
}

/**
 * @param keys key id -> 32-byte key (base64 or hex); `current` names the key used to seal.
 * `context` (e.g. `cloudauthz:<id>:client_secret`) is bound as associated data, so a sealed value
 * copied to another record or field does not decrypt there.
 */
export function createSecretBox(keys: Record<string, string>, current: string): SecretBox {
  const decoded = new Map<string, Buffer>();
  for (const [kid, raw] of Object.entries(keys)) {
    const key = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, "hex") : Buffer.from(raw, "base64");
    if (key.length !== 32) throw new Error(`encryption key '${kid}' must be 32 bytes (hex or base64)`);
    decoded.set(kid, key);
  }
  const currentKey = decoded.get(current);
  if (!currentKey) throw new Error(`current encryption key id '${current}' is not among the configured keys`);
  return {
    seal(plaintext, context) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", currentKey, nonce);
      cipher.setAAD(Buffer.from(context, "utf8"));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return { kid: current, v: Buffer.concat([nonce, body, cipher.getAuthTag()]).toString("base64url") };
    },
    open(sealed, context) {
      const key = decoded.get(sealed.kid);
      if (!key) throw new Error(`no encryption key with id '${sealed.kid}' is configured`);
      const raw = Buffer.from(sealed.v, "base64url");
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString("utf8");
    },
  };
}
