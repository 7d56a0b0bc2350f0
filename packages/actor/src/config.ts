import { Type } from "@sinclair/typebox";

/** Spread into every service's config schema: the key that verifies actor assertions. */
export const ActorVerifyConfig = {
  /** The gateway's Ed25519 public key (PEM, SPKI) that verifies actor assertions (docs/trust.md). */
  SKYFERRY_ACTOR_PUBLIC_KEY_FILE: Type.String({ minLength: 1 }),
};

/** Spread into the gateway's config schema only: the key that signs actor assertions. */
export const ActorSignConfig = {
  /** The Ed25519 private key (PEM, PKCS#8) that signs actor assertions; only the gateway has it. */
  SKYFERRY_ACTOR_SIGNING_KEY_FILE: Type.String({ minLength: 1 }),
};
