import { type Static, Type } from "@sinclair/typebox";
import { ActorSignConfig, ActorVerifyConfig } from "@skyferry/actor";
import { BaseConfig } from "@skyferry/service-kit";

/** The gateway's settings, each read from the environment variable of the same name. */
export const GatewayConfig = Type.Object({
  ...BaseConfig,
  ...ActorVerifyConfig,
  ...ActorSignConfig,
  /** Public HTTP port (the seed's clients use http://localhost:8080). */
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
  /** Timeout for a request to another service over NATS, in ms. */
  SKYFERRY_RPC_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100 }),
  /**
   * The origin browsers and the sign-in provider use for this gateway (e.g. https://skyferry.example.org);
   * builds `/authnz/{provider}/callback` and decides whether cookies are `Secure`. Empty: taken
   * from each request.
   */
  SKYFERRY_PUBLIC_URL: Type.String({ default: "", pattern: "^(https?://[^/?#]+)?$" }),
  /**
   * Which peers' X-Forwarded-For/-Proto/-Host are believed (the client address the failure limiter
   * counts by, and the scheme and host of sign-in redirects and `Secure` cookies when
   * SKYFERRY_PUBLIC_URL is empty). Empty: none, the peer is the client. An integer: that many
   * proxy hops (e.g. `1` behind one ingress). Otherwise a comma-separated list of IPs / CIDRs
   * (and `loopback`, `linklocal`, `uniquelocal`); checked at start-up (services/gateway/src/trusted-proxies.ts).
   */
  SKYFERRY_TRUSTED_PROXIES: Type.String({ default: "", maxLength: 4096 }),
  /** How long a resolved API key is cached (ms); a revocation event drops it sooner. 0 disables. */
  SKYFERRY_API_KEY_CACHE_MS: Type.Integer({ default: 30_000, minimum: 0 }),
  /** Base URL of the history service's HTTP port; uploads and dataset downloads are streamed through it. */
  SKYFERRY_HISTORY_URL: Type.String({ default: "http://127.0.0.1:8082", pattern: "^https?://[^/?#]+$" }),
  /**
   * Shared secret sent to the history service with every proxied request (it refuses requests
   * without it). Empty: uploads and display answer 503.
   */
  SKYFERRY_INTERNAL_TOKEN: Type.String({ default: "", maxLength: 512 }),
  /**
   * The Galaxy release `GET /api/version` reports (`major.minor`, e.g. `23.1`). Galaxy clients pick
   * their protocol by it: BioBlend uploads with tus from 22.01 on, with the `upload1` tool before.
   */
  SKYFERRY_GALAXY_VERSION: Type.String({ default: "23.1", pattern: "^[0-9]{2}\\.[0-9]{1,2}$" }),
  /** Largest file one tus upload session may declare (413 above it). */
  SKYFERRY_TUS_MAX_BYTES: Type.Integer({ default: 50 * 1024 ** 3, minimum: 1 }),
  /** Where unfinished tus uploads wait (one file per session); emptied as uploads are fetched or expire. */
  SKYFERRY_TUS_DIR: Type.String({ default: ".data/tus", minLength: 1 }),
  /** An unfinished tus session not written to for this long is removed (seconds). */
  SKYFERRY_TUS_EXPIRY_SECONDS: Type.Integer({ default: 86_400, minimum: 1 }),
});
export type GatewayConfig = Static<typeof GatewayConfig>;
