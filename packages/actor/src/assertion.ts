import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { isSkyferryError } from "@skyferry/errors";
import { type CryptoKey, importPKCS8, importSPKI, jwtVerify, SignJWT } from "jose";
import { actorExpired, actorForeign, actorInvalid, actorKeyUnusable, actorMissing } from "./errors.ts";

/** Who signs actor assertions (the `iss` claim): only the gateway holds the signing key. */
export const ACTOR_ISSUER = "skyferry-gateway";
/** How long an assertion is believed: it covers one request and the calls made for it. */
export const ACTOR_TTL_SECONDS = 60;
/** Clock skew tolerated between the gateway and a verifying service. */
const CLOCK_TOLERANCE_SECONDS = 5;
const ALG = "EdDSA";

/** The audience of assertions for one deployment: an assertion for another namespace is foreign. */
export const actorAudience = (namespace: string): string => `skyferry:${namespace}`;

/** What a verified assertion says. */
export interface ActorClaims {
  user_id: string;
  request_id: string | undefined;
  expires_at: Date;
}

export interface ActorSigner {
  /** A compact JWS (EdDSA) stating that `user_id` acts, for request `request_id`, for `ACTOR_TTL_SECONDS`. */
  sign(actor: { user_id: string; request_id?: string | undefined }): Promise<string>;
}

export interface ActorVerifier {
  /**
   * Checks `assertion` (signature, issuer, audience, expiry) and that its subject is `actor.user_id`.
   * Throws BUS_ACTOR_MISSING / BUS_ACTOR_INVALID / BUS_ACTOR_EXPIRED (401) or BUS_ACTOR_FOREIGN (403);
   * the token never appears in an error.
   */
  verify(assertion: string | undefined, actor: { user_id: string }): Promise<ActorClaims>;
}

export interface SignerOptions {
  /** PEM of the Ed25519 private key (PKCS#8). */
  privateKeyPem: string;
  namespace: string;
  ttlSeconds?: number;
  now?: () => number;
}

export interface VerifierOptions {
  /** PEM of the Ed25519 public key (SPKI). */
  publicKeyPem: string;
  namespace: string;
  now?: () => number;
}

function ed25519(key: KeyObject, file: string): void {
  if (key.asymmetricKeyType !== "ed25519") throw actorKeyUnusable(file, `an ${key.asymmetricKeyType ?? "unknown"} key, not Ed25519`);
}

export async function createActorSigner(options: SignerOptions, source = "(inline key)"): Promise<ActorSigner> {
  let key: CryptoKey;
  try {
    ed25519(createPrivateKey(options.privateKeyPem), source);
    key = await importPKCS8(options.privateKeyPem, ALG);
  } catch (err) {
    throw isSkyferryError(err) ? err : actorKeyUnusable(source, "not a PKCS#8 PEM private key");
  }
  const audience = actorAudience(options.namespace);
  const ttl = options.ttlSeconds ?? ACTOR_TTL_SECONDS;
  const now = options.now ?? Date.now;
  return {
    sign({ user_id, request_id }) {
      const iat = Math.floor(now() / 1000);
      return new SignJWT(request_id === undefined ? {} : { rid: request_id })
        .setProtectedHeader({ alg: ALG, typ: "JWT" })
        .setIssuer(ACTOR_ISSUER)
        .setAudience(audience)
        .setSubject(user_id)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttl)
        .sign(key);
    },
  };
}

export async function createActorVerifier(options: VerifierOptions, source = "(inline key)"): Promise<ActorVerifier> {
  let key: CryptoKey;
  try {
    ed25519(createPublicKey(options.publicKeyPem), source);
    // Imported once: every verification reuses the key object.
    key = await importSPKI(options.publicKeyPem, ALG);
  } catch (err) {
    throw isSkyferryError(err) ? err : actorKeyUnusable(source, "not an SPKI PEM public key");
  }
  const audience = actorAudience(options.namespace);
  const now = options.now;
  return {
    async verify(assertion, actor) {
      if (assertion === undefined || assertion === "") throw actorMissing();
      let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
      try {
        ({ payload } = await jwtVerify(assertion, key, {
          algorithms: [ALG],
          issuer: ACTOR_ISSUER,
          requiredClaims: ["sub", "exp", "iat", "aud"],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          ...(now ? { currentDate: new Date(now()) } : {}),
        }));
      } catch (err) {
        throw refusal(err);
      }
      // The audience is checked here rather than by jwtVerify so that another deployment's
      // assertion is told apart (403) from a forged one (401).
      const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (!aud.includes(audience)) throw actorForeign("it was issued for another deployment");
      if (payload.sub !== actor.user_id) throw actorForeign("it was issued for another user");
      const rid = typeof payload["rid"] === "string" ? payload["rid"] : undefined;
      return { user_id: payload.sub, request_id: rid, expires_at: new Date((payload.exp ?? 0) * 1000) };
    },
  };
}

function refusal(err: unknown) {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return actorExpired();
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return actorInvalid("its signature does not verify");
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return actorInvalid("it is not signed with EdDSA");
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return actorInvalid(`its ${String((err as { claim?: unknown }).claim ?? "claims")} claim is not acceptable`);
    default:
      return actorInvalid("it is not a compact JWS");
  }
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw actorKeyUnusable(file, (err as NodeJS.ErrnoException).code ?? "unreadable");
  }
}

/** The gateway's signer, from `SKYFERRY_ACTOR_SIGNING_KEY_FILE`. */
export function loadActorSigner(file: string, namespace: string): Promise<ActorSigner> {
  return createActorSigner({ privateKeyPem: readKeyFile(file), namespace }, file);
}

/** Every service's verifier, from `SKYFERRY_ACTOR_PUBLIC_KEY_FILE`. */
export function loadActorVerifier(file: string, namespace: string): Promise<ActorVerifier> {
  return createActorVerifier({ publicKeyPem: readKeyFile(file), namespace }, file);
}
