import { randomUUID } from "node:crypto";
import type { Static, TSchema } from "@sinclair/typebox";
import type { ErrorBody } from "@skyferry/errors";
import { fieldOf, validator } from "@skyferry/contracts";
import { busMessageInvalid } from "./errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function envelope<D>(type: string, data: D, id: string = randomUUID()) {
  return { type, id, time: new Date().toISOString(), data };
}

export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses bytes as JSON and checks them against `schema`; throws BUS_MESSAGE_INVALID naming the field. */
export function decodeChecked<T extends TSchema>(schema: T, bytes: Uint8Array): Static<T> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw busMessageInvalid("(root)", "not valid JSON");
  }
  assertValid(schema, value);
  return value;
}

/** The envelope fields every message has, after validation against its contract. */
export interface Envelope {
  type: string;
  id: string;
  time: string;
  data?: unknown;
}

/** A reply envelope after validation: data on success, an ErrorBody on failure. */
export type ReplyEnvelope = Envelope & ({ ok: true; data: unknown } | { ok: false; error: ErrorBody });

/** `decodeChecked` for message schemas, typed by the envelope (generic statics do not resolve). */
export function decodeEnvelope(schema: TSchema, bytes: Uint8Array): Envelope {
  return decodeChecked(schema, bytes) as Envelope;
}

export function decodeReply(schema: TSchema, bytes: Uint8Array): ReplyEnvelope {
  return decodeChecked(schema, bytes) as ReplyEnvelope;
}

export function assertValid<T extends TSchema>(schema: T, value: unknown): asserts value is Static<T> {
  const v = validator(schema);
  if (!v.check(value)) {
    const [first] = v.problems(value);
    throw busMessageInvalid(first ? fieldOf(first) : "(root)", first?.message ?? "does not match its schema");
  }
}
