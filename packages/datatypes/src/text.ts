// Content sniffers for text datatypes, in the order Galaxy's sniffers would settle them:
// the specific formats (header lines, strict shapes) before the generic ones (csv, tabular, txt).

/** Complete lines of the head (a cut-off last line is dropped when the head is a prefix). */
export function headLines(text: string, truncated: boolean): string[] {
  const lines = text.split(/\r?\n/);
  if (truncated && lines.length > 1) lines.pop();
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

const INT = /^\d+$/;
const dataLines = (lines: string[]) => lines.filter((l) => l.trim() !== "" && !l.startsWith("#"));

export function isVcf(lines: string[]): boolean {
  return lines[0]?.startsWith("##fileformat=VCF") ?? false;
}

/** `gff3` (`##gff-version 3` or key=value attributes), `gtf` (`gene_id "…";`), `gff` (version 2), or null. */
export function gffKind(lines: string[]): "gff" | "gff3" | "gtf" | null {
  const version = /^##gff-version\s+(\d)/.exec(lines[0] ?? "");
  if (version) return version[1] === "3" ? "gff3" : "gff";
  const rows = dataLines(lines).slice(0, 50).map((l) => l.split("\t"));
  if (rows.length === 0) return null;
  const ninecol = rows.every((c) => c.length === 9 && INT.test(c[3]!) && INT.test(c[4]!) && Number(c[3]) <= Number(c[4]) && /^[+\-.?]$/.test(c[6]!));
  if (!ninecol) return null;
  if (rows.every((c) => /gene_id\s+"[^"]*"\s*;/.test(c[8]!) && /transcript_id\s+"[^"]*"/.test(c[8]!))) return "gtf";
  if (rows.every((c) => c[8] === "." || /^[^=;]+=[^;]*(;[^=;]+=[^;]*)*;?$/.test(c[8]!))) return "gff3";
  return "gff";
}

export function isSam(lines: string[]): boolean {
  if (/^@(HD|SQ|RG|PG|CO)\t/.test(lines[0] ?? "")) return true;
  const rows = lines.filter((l) => !l.startsWith("@")).slice(0, 50).map((l) => l.split("\t"));
  return rows.length > 0 && rows.every((c) => c.length >= 11 && INT.test(c[1]!) && INT.test(c[3]!) && INT.test(c[4]!));
}

/** Four-line records: `@id`, sequence, `+`, qualities as long as the sequence. */
export function isFastq(lines: string[]): boolean {
  const n = lines.length - (lines.length % 4);
  if (n < 4) return false;
  for (let i = 0; i < n; i += 4) {
    const [id, seq, plus, qual] = [lines[i]!, lines[i + 1]!, lines[i + 2]!, lines[i + 3]!];
    if (!id.startsWith("@") || !plus.startsWith("+") || !/^[A-Za-z.\-*]*$/.test(seq) || seq.length !== qual.length) return false;
  }
  return true;
}

export function isFasta(lines: string[]): boolean {
  if (!lines[0]?.startsWith(">")) return false;
  const body = lines.slice(1).filter((l) => !l.startsWith(">") && l.trim() !== "");
  return body.length > 0 && body.every((l) => /^[A-Za-z*\-.]+$/.test(l.trim()));
}

/** BED: 3+ tab columns chrom, start, end (integers, start <= end); track/browser/# lines skipped. */
export function isBed(lines: string[]): boolean {
  const rows = lines.filter((l) => l.trim() !== "" && !/^(#|track\b|browser\b)/.test(l)).slice(0, 100).map((l) => l.split("\t"));
  return rows.length > 0 && rows.every((c) => c.length >= 3 && c.length <= 15 && c[0] !== "" && INT.test(c[1]!) && INT.test(c[2]!) && Number(c[1]) <= Number(c[2]));
}

export function isJson(text: string, truncated: boolean): boolean {
  const t = text.trim();
  if (!/^[[{]/.test(t)) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    // A prefix of a large document cannot parse; accept an object/array opening that looks like JSON.
    return truncated && /^(\{\s*("|\})|\[\s*[[{"\d\-tfn\]])/.test(t);
  }
}

/** Same number (>= 2) of comma-separated fields on every line (quotes respected), and no tabs. */
export function isCsv(lines: string[]): boolean {
  if (lines.length < 2 || lines.some((l) => l.includes("\t"))) return false;
  const counts = lines.slice(0, 100).map(csvFields);
  return counts[0]! >= 2 && counts.every((n) => n === counts[0]);
}

function csvFields(line: string): number {
  let n = 1;
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) n++;
  }
  return n;
}

/** Tab-separated with the same column count (>= 2) on the data lines. */
export function isTabular(lines: string[]): boolean {
  const rows = dataLines(lines).slice(0, 100).map((l) => l.split("\t").length);
  return rows.length > 0 && rows[0]! >= 2 && rows.every((n) => n === rows[0]);
}
