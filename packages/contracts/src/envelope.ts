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

/** The user on whose behalf a request is made; resolved by the gateway from a key or session. */
export const Actor = Type.Object({
  user_id: Id,
  request_id: Type.Optional(Type.String({ maxLength: 128 })),
});
export type Actor = Static<typeof Actor>;
