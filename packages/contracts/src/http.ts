import { type TString, Type } from "@sinclair/typebox";
import { ID_FIELD } from "@skyferry/errors/galaxy";
import { Id } from "./envelope.ts";

/**
 * The shared `Id` as a route's path or query parameter. A value that fails its pattern is answered
 * as Galaxy's malformed id (400009) naming `field` (e.g. `history_id` for `/api/histories/:id`);
 * the mapping is in @skyferry/errors/galaxy. Longer than 64 characters is, as it always was, an
 * invalid field (400008): Ajv checks the length before the pattern.
 */
export function IdParam(field: string, description = Id.description ?? "an id"): TString & { [ID_FIELD]: string } {
  return { ...Type.String({ pattern: Id.pattern, maxLength: 64, description }), [ID_FIELD]: field };
}

const ID_PATTERN = new RegExp(Id.pattern ?? "^[0-9a-f]{16}$");

/** Whether `value` is a well-formed `Id`, for ids that arrive outside a schema (multipart fields, lists). */
export const isId = (value: string): boolean => ID_PATTERN.test(value);
