import { type Static, type TSchema, Type } from "@sinclair/typebox";

/** A Galaxy-style encoded id: 16 lowercase hex characters (64 random bits). */
export const Id = Type.String({ pattern: "^[0-9a-f]{16}$", description: "16 lowercase hex characters" });
export type Id = Static<typeof Id>;

/** ISO-8601 UTC timestamp as produced by `Date.prototype.toISOString`. */
export const Timestamp = Type.String({ format: "date-time" });
export type Timestamp = Static<typeof Timestamp>;

/** The error form carried by a failed reply and by failed-job events. */
export const ErrorBody = Type.Object({
  code: Type.String({ minLength: 1, maxLength: 64 }),
  message: Type.String({ maxLength: 4096 }),
  status: Type.Integer({ minimum: 100, maximum: 599 }),
  err_code: Type.Integer({ minimum: 0 }),
  field: Type.Optional(Type.String({ maxLength: 256 })),
  retryable: Type.Optional(Type.Boolean()),
});
export type ErrorBody = Static<typeof ErrorBody>;

/** Every NATS message: a versioned `type`, a unique `id`, a `time`, and the payload under `data`. */
export function Message<T extends string, D extends TSchema>(type: T, data: D) {
  return Type.Object(
    {
      type: Type.Literal(type),
      id: Type.String({ minLength: 1, maxLength: 128 }),
      time: Timestamp,
      data,
    },
    { $id: type },
  );
}

/** A reply to a request: `ok: true` with data, or `ok: false` with an `ErrorBody`. */
export function Reply<T extends string, D extends TSchema>(type: T, data: D) {
  const common = { type: Type.Literal(type), id: Type.String({ minLength: 1, maxLength: 128 }), time: Timestamp };
  return Type.Union([
    Type.Object({ ...common, ok: Type.Literal(true), data }),
    Type.Object({ ...common, ok: Type.Literal(false), error: ErrorBody }),
  ]);
}

/**
 * Marks the `Actor` schema: `bus.serve` verifies the assertion of every request whose `actor`
 * property carries this mark before its handler runs (docs/trust.md, "Signed actor").
 */
export const SIGNED_ACTOR = "x-skyferry-signed-actor";

/**
 * The user on whose behalf a request is made, resolved by the gateway from a key or session, with
 * the gateway's signed assertion of it (`assertion`: a compact JWS, EdDSA, 60 s; its `sub` is
 * `user_id`). Optional in the schema so that a request without one is refused as such
 * (401 BUS_ACTOR_MISSING) rather than as a malformed message. Services forward the actor they
 * received, assertion included, when they call another service for the same request.
 */
export const Actor = Type.Object(
  {
    user_id: Id,
    request_id: Type.Optional(Type.String({ maxLength: 128 })),
    assertion: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  },
  { [SIGNED_ACTOR]: true },
);
export type Actor = Static<typeof Actor>;

/**
 * A user named by a service acting for a job it holds in MongoDB, not by the gateway: believed only
 * from the identities NATS lets request the subject (history's import subjects: transfer), and
 * checked against the record the request names (the item is that user's and is importing).
 */
export const JobUser = Type.Object({
  user_id: Id,
  request_id: Type.Optional(Type.String({ maxLength: 128 })),
});
export type JobUser = Static<typeof JobUser>;

/** Whether a request schema has a signed actor that `bus.serve` must verify. */
export function hasSignedActor(requestData: TSchema): boolean {
  const actor = (requestData as { properties?: Record<string, unknown> }).properties?.["actor"] as Record<string, unknown> | undefined;
  return actor?.[SIGNED_ACTOR] === true;
}
