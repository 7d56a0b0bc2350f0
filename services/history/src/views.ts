import { invalidField } from "@skyferry/errors";

/**
 * Galaxy's view/keys selection: `view` alone gives its key set; `keys` alone gives exactly those
 * keys; both give the view plus the keys. Unknown keys are refused naming `keys`.
 */
export function selectKeys(
  views: { summary: readonly string[]; detailed: readonly string[] },
  params: { view?: "summary" | "detailed"; keys?: string },
  defaultView: "summary" | "detailed",
): readonly string[] {
  const extra = params.keys === undefined ? [] : params.keys.split(",").map((k) => k.trim()).filter(Boolean);
  const known = new Set(views.detailed);
  const unknown = extra.filter((k) => !known.has(k));
  if (unknown.length > 0) throw invalidField("keys", `Unknown key(s) in keys: ${unknown.slice(0, 5).map((k) => `'${k.slice(0, 40)}'`).join(", ")}.`);
  if (params.view === undefined && extra.length > 0) return [...new Set(extra)];
  const base = views[params.view ?? defaultView];
  return extra.length === 0 ? base : [...new Set([...base, ...extra])];
}

/** The `keys` of `full`, in that order. */
export function pick<T extends Record<string, unknown>>(full: T, keys: readonly string[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in full) out[k] = full[k];
  return out as Partial<T>;
}
