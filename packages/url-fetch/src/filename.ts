/**
 * The file name of a download: Content-Disposition's `filename*` (RFC 5987) or `filename`, else
 * the URL's last path segment. Reduced to a bare name (no directories, no control characters,
 * at most 255 characters); null when nothing usable remains.
 */
export function filenameOf(disposition: string | undefined, url: URL): string | null {
  const fromHeader = disposition ? dispositionName(disposition) : null;
  if (fromHeader) return fromHeader;
  const segment = url.pathname.split("/").pop() ?? "";
  return clean(safeDecode(segment));
}

function dispositionName(header: string): string | null {
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (extended) {
    const name = clean(safeDecode(extended[2]!.trim()));
    if (name) return name;
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(header);
  if (!plain) return null;
  return clean((plain[1] ?? plain[2] ?? "").replace(/\\(.)/g, "$1").trim());
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function clean(name: string): string | null {
  // eslint-disable-next-line no-control-regex
  const bare = (name.split(/[\\/]/).pop() ?? "").replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, 255);
  return bare === "" || bare === "." || bare === ".." ? null : bare;
}
