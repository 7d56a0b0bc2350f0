export {
  ACTOR_ISSUER,
  ACTOR_TTL_SECONDS,
  type ActorClaims,
  type ActorSigner,
  type ActorVerifier,
  actorAudience,
  createActorSigner,
  createActorVerifier,
  loadActorSigner,
  loadActorVerifier,
  type SignerOptions,
  type VerifierOptions,
} from "./assertion.ts";
export { ActorSignConfig, ActorVerifyConfig } from "./config.ts";
export { actorExpired, actorForeign, actorInvalid, actorKeyUnusable, actorMissing } from "./errors.ts";
