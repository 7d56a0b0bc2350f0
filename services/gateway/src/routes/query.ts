import { Type } from "@sinclair/typebox";

/** Query parameters are checked strictly (unknown ones are dropped first: plugins/tolerant-query.ts). */
export const strict = { additionalProperties: false } as const;

/** Galaxy's `?key=` API key, which every authenticated route accepts (plugins/auth.ts reads it). */
export const Key = Type.Optional(Type.String({ maxLength: 256 }));

/** The query of a route that takes nothing but the API key. */
export const KeyQuery = Type.Object({ key: Key }, strict);

/** Galaxy's `view` and `keys` of a query, for a request to the history service. */
export function viewOf(q: { view?: "summary" | "detailed"; keys?: string }): { view?: "summary" | "detailed"; keys?: string } {
  return { ...(q.view !== undefined ? { view: q.view } : {}), ...(q.keys !== undefined ? { keys: q.keys } : {}) };
}
