import { Transform } from "node:stream";

/**
 * Galaxy's upload options `to_posix_lines` (CR LF and CR become LF) and `space_to_tab` (runs of
 * spaces and tabs become one tab), applied line by line as the bytes stream through. Content whose
 * first chunk holds a NUL byte is binary and passes unchanged, as Galaxy leaves binary data alone.
 * Works on latin1 strings so UTF-8 bytes pass through untouched (only ASCII is rewritten).
 */
export function textNormalizer(opts: { toPosixLines: boolean; spaceToTab: boolean }): Transform {
  let binary: boolean | undefined;
  let rest = "";
  const fix = (text: string): string => {
    let out = opts.toPosixLines ? text.replace(/\r\n?/g, "\n") : text;
    if (opts.spaceToTab) out = out.replace(/[ \t]+/g, "\t");
    return out;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (binary === undefined) binary = chunk.includes(0);
      if (binary || (!opts.toPosixLines && !opts.spaceToTab)) return done(null, chunk);
      const text = rest + chunk.toString("latin1");
      // Keep an unfinished line (and a CR that may be followed by LF) for the next chunk.
      const cut = Math.max(text.lastIndexOf("\n"), text.endsWith("\r") ? -1 : text.lastIndexOf("\r"));
      rest = text.slice(cut + 1);
      done(null, Buffer.from(fix(text.slice(0, cut + 1)), "latin1"));
    },
    flush(done) {
      done(null, rest ? Buffer.from(fix(rest), "latin1") : undefined);
    },
  });
}

/** The same for a whole string (pasted content). */
export function normalizeText(text: string, opts: { toPosixLines: boolean; spaceToTab: boolean }): string {
  let out = opts.toPosixLines ? text.replace(/\r\n?/g, "\n") : text;
  if (opts.spaceToTab) out = out.split("\n").map((line) => line.replace(/[ \t]+/g, "\t")).join("\n");
  return out;
}
