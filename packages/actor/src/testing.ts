// For tests only (`@skyferry/actor/testing`): assertions signed with the stack's key, for tests
// that call services over NATS as a user, and throw-away key pairs for unit tests.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ActorSigner, loadActorSigner } from "./assertion.ts";

const signers = new Map<string, Promise<ActorSigner>>();

function stackSigner(namespace: string, keyFile: string | undefined): Promise<ActorSigner> {
  const file = keyFile ?? process.env["SKYFERRY_ACTOR_SIGNING_KEY_FILE"];
  if (!file) throw new Error("SKYFERRY_ACTOR_SIGNING_KEY_FILE is not set: source .stack/env (the stack makes .stack/trust/actor.pem)");
  const k = `${namespace}\u0000${file}`;
  let s = signers.get(k);
  if (!s) signers.set(k, (s = loadActorSigner(file, namespace)));
  return s;
}

/**
 * The `actor` of a request made as `userId` in `namespace`, with an assertion signed by the stack's
 * key (`SKYFERRY_ACTOR_SIGNING_KEY_FILE`, or `keyFile`), as the gateway would send it.
 */
export async function signedActor(
  userId: string,
  namespace: string,
  options: { requestId?: string; keyFile?: string } = {},
): Promise<{ user_id: string; request_id?: string; assertion: string }> {
  const signer = await stackSigner(namespace, options.keyFile);
  const assertion = await signer.sign({ user_id: userId, request_id: options.requestId });
  return { user_id: userId, ...(options.requestId ? { request_id: options.requestId } : {}), assertion };
}

/** A new Ed25519 key pair as PEM (PKCS#8 private, SPKI public). */
export function generateActorKeys(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** A new key pair written to a temporary folder: the two config values a service is given. */
export function writeActorKeys(dir: string = mkdtempSync(join(tmpdir(), "skyferry-actor-"))): {
  SKYFERRY_ACTOR_SIGNING_KEY_FILE: string;
  SKYFERRY_ACTOR_PUBLIC_KEY_FILE: string;
} {
  const keys = generateActorKeys();
  const signing = join(dir, "actor.pem");
  const pub = join(dir, "actor.pub.pem");
  writeFileSync(signing, keys.privateKeyPem, { mode: 0o600 });
  writeFileSync(pub, keys.publicKeyPem);
  return { SKYFERRY_ACTOR_SIGNING_KEY_FILE: signing, SKYFERRY_ACTOR_PUBLIC_KEY_FILE: pub };
}
