/** A resolved byte range (inclusive end), or `"unsatisfiable"`, or null for the whole content. */
export type RangeResult = { start: number; end: number } | "unsatisfiable" | null;

/**
 * Parses one `Range: bytes=…` header against `size` (RFC 9110 §14). Several ranges, other units
 * or a malformed header are ignored (the whole content is served), as the RFC allows.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return null;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

/**
 * A download's file name as a browser or client may save it (issue 19): control and bidirectional
 * characters (U+202E would show `txt.exe` as `exe.txt`) removed, path separators made `_`, no
 * leading dots, at most 255 characters; "dataset" when nothing is left.
 */
export function safeFileName(name: string): string {
  const cleaned = name
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "")
    .replace(/[/\\]/g, "_")
    .replace(/^[.\s]+/, "")
    .trim();
  return [...cleaned].slice(0, 255).join("") || "dataset";
}

/** `attachment`/`inline` with an ASCII fallback name and the (sanitized) name in RFC 5987 form. */
export function contentDisposition(kind: "inline" | "attachment", name: string): string {
  const safe = safeFileName(name);
  const ascii = safe.replace(/[^A-Za-z0-9._ -]/g, "_").replace(/^[.\s]+/, "").slice(0, 200) || "dataset";
  const exact = encodeURIComponent(safe).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${exact}`;
}
