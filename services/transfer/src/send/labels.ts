/**
 * Galaxy's send labels are `json.dumps({...})` strings: separators `", "` and `": "`, keys in
 * insertion order, and `ensure_ascii=True` (everything outside printable ASCII, 0x7f included,
 * becomes a lowercase `\uXXXX`; astral characters become surrogate pairs).
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return pythonString(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError("json.dumps of a non-finite number is not JSON");
    return Number.isInteger(value) ? String(value) : JSON.stringify(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${pythonString(k)}: ${pythonJsonDumps(v)}`).join(", ")}}`;
  }
  throw new TypeError(`cannot encode ${typeof value}`);
}

const SHORT: Record<number, string> = { 0x22: '\\"', 0x5c: "\\\\", 0x08: "\\b", 0x0c: "\\f", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t" };

function pythonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const short = SHORT[c];
    if (short !== undefined) out += short;
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += s[i];
  }
  return `${out}"`;
}

/** `{"object": …, "job_id": …}` exactly as Galaxy's sent_dataset_labels. */
export const sentLabel = (object: string, jobId: string): string => pythonJsonDumps({ object, job_id: jobId });

/** `{"object": …, "error": …}` exactly as Galaxy's failed_dataset_labels. */
export const failedLabel = (object: string, error: string): string => pythonJsonDumps({ object, error });
