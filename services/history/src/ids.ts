import { randomBytes } from "node:crypto";
import { isId } from "@skyferry/contracts";
import { malformedId } from "@skyferry/errors";

/** A new Galaxy-style id: 16 lowercase hex characters. */
export const newId = (): string => randomBytes(8).toString("hex");

/** Returns `value` when it is a well-formed id. @throws 400009 naming `field` */
export function checkId(field: string, value: string): string {
  if (!isId(value)) throw malformedId(field, value);
  return value;
}

/** Splits a comma-separated id list (`ids=`, `details=`), checking each. */
export function idList(field: string, raw: string): string[] {
  return raw.split(",").map((s) => s.trim()).filter(Boolean).map((id) => checkId(field, id));
}

/** Galaxy writes times as ISO-8601 without the zone designator. */
export const galaxyTime = (d: Date): string => d.toISOString().replace(/Z$/, "");
