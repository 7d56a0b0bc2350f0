import { invalidField } from "@skyferry/errors";

/** What a key template may refer to. */
export interface KeyFields {
  history_name: string;
  history_id: string;
  hid: number;
  name: string;
  dataset_id: string;
  ext: string;
}

const PLACEHOLDERS = ["history_name", "history_id", "hid", "name", "dataset_id", "ext"] as const;
const PLACEHOLDER = /\{([a-z_]+)\}/g;

/** Galaxy's rule: the dataset name with spaces turned into underscores, nothing else changed. */
export const galaxyLabel = (name: string): string => name.replaceAll(" ", "_");

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Bidirectional marks, embeddings, overrides and isolates: they make a key read as another (`txt.exe` shown as `exe.txt`). */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Why `text` (a prefix, a key template, a key) could escape or disguise itself where a client
 * turns keys into paths: control characters, bidirectional controls, a `.` or `..` segment (by `/`
 * or `\`), or a leading `/`. Null when none.
 */
export function pathProblem(text: string, what: string): string | null {
  if (CONTROL.test(text)) return `${what} contains control characters.`;
  if (BIDI.test(text)) return `${what} contains bidirectional control characters (e.g. U+202E).`;
  if (text.split(/[/\\]/).some((s) => s === "." || s === "..")) return `${what} contains a '.' or '..' path segment.`;
  if (text.startsWith("/") || text.startsWith("\\")) return `${what} starts with a path separator.`;
  return null;
}

/** Throws 400 naming `prefix` when it could escape (a `..` segment, control or bidi characters, a leading `/`). */
export function checkPrefix(prefix: string): void {
  const problem = pathProblem(prefix, "The prefix");
  if (problem) throw invalidField("prefix", `Invalid prefix: ${problem}`);
}

/** Throws 400 naming `key_template` when it refers to an unknown placeholder or its literal text could escape. */
export function checkKeyTemplate(template: string): void {
  const problem = pathProblem(template.replace(PLACEHOLDER, "x"), "The key_template");
  if (problem) throw invalidField("key_template", `Invalid key_template: ${problem}`);
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
      throw invalidField("key_template", `Unknown placeholder {${m[1]}} in key_template; use ${PLACEHOLDERS.map((p) => `{${p}}`).join(" ")}.`);
    }
  }
}

/**
 * The planned object key: `prefix` + the template (default `{name}`) with every placeholder
 * value's spaces turned into `_`. Without options this is exactly Galaxy's label.
 */
export function objectKey(fields: KeyFields, options: { prefix?: string; keyTemplate?: string } = {}): string {
  const template = options.keyTemplate ?? "{name}";
  const body = template.replace(PLACEHOLDER, (whole, p: string) =>
    (PLACEHOLDERS as readonly string[]).includes(p) ? galaxyLabel(String(fields[p as keyof KeyFields])) : whole,
  );
  return `${options.prefix ?? ""}${body}`;
}

/** Why a key cannot be used on any provider, or null when it can. */
export function keyProblem(key: string): string | null {
  if (key.length === 0) return "The object key is empty.";
  if (Buffer.byteLength(key, "utf8") > 1024) return "The object key is longer than 1024 bytes.";
  return pathProblem(key, "The object key");
}

/**
 * Galaxy's `_yymmdd_HHMMSS` suffix (in UTC), made unique within one second by a counter from the
 * second attempt on: `rep1.bed_181028_142530`, `rep1.bed_181028_142530_2`, …
 */
export function suffixedKey(key: string, at: Date, attempt: number): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp = `${p(at.getUTCFullYear() % 100)}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}_${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
  return attempt <= 1 ? `${key}_${stamp}` : `${key}_${stamp}_${attempt}`;
}
