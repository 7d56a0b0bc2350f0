import { COMPRESSED_VARIANTS, SUFFIX_TO_EXT } from "./extensions.ts";
import { binaryMagic, type Compression, compressionOf, gunzipHead, isBgzf, looksBinary } from "./magic.ts";
import { gffKind, headLines, isBed, isCsv, isFasta, isFastq, isJson, isSam, isTabular, isVcf } from "./text.ts";

/** Bytes of a file's head worth passing to `sniffDatatype`. */
export const SNIFF_BYTES = 64 * 1024;

export interface SniffInput {
  /** The file name as uploaded (its suffix is tried first). */
  name: string;
  /** The first bytes (up to SNIFF_BYTES; fewer only when the file is that short or when `complete`). */
  head: Buffer;
  /** True when `head` is the whole file (so its last line is complete). Default: head.length < SNIFF_BYTES. */
  complete?: boolean;
}

export interface SniffResult {
  /** Galaxy datatype extension, e.g. `bed`, `fastqsanger.gz`, `vcf_bgzip`, `gz`, `data`. */
  ext: string;
  /**
   * Compression of the stored bytes as a container around another datatype (from the magic
   * number, never from the name). Binary formats that compress internally (bam, cram, bigwig, h5)
   * report null.
   */
  compressed: Compression | null;
}

const SUFFIX_OF: Record<Compression, string> = { gzip: "gz", zip: "zip", bzip2: "bz2" };

/**
 * The datatype of an upload: the name's suffix first (`reads.fq.gz` -> fastqsanger), else the
 * content. Compression always comes from the magic number, and combines with the type as Galaxy
 * names it (`fastqsanger.gz`, `fasta.bz2`, `vcf_bgzip` for BGZF VCF); a compressed type Galaxy
 * has no compressed variant of is `gz` (gzip), `zip`, or `data` (bzip2). Forcing a `file_type`
 * is the caller's business.
 */
export function sniffDatatype({ name, head, complete }: SniffInput): SniffResult {
  const truncated = !(complete ?? head.length < SNIFF_BYTES);
  const compressed = compressionOf(head);
  if (compressed === "zip") return { ext: "zip", compressed };
  if (compressed === "gzip") {
    const inner = gunzipHead(head);
    if (inner.toString("latin1", 0, 4) === "BAM\u0001") return { ext: "bam", compressed: null };
    const type = fromName(name) ?? (inner.length > 0 ? fromContent(inner, true) : null);
    return { ext: withCompression(type, "gzip", isBgzf(head)), compressed };
  }
  if (compressed === "bzip2") return { ext: withCompression(fromName(name), "bzip2", false), compressed };
  const named = fromName(name);
  if (named && !(named === "zip")) return { ext: named, compressed: null };
  return { ext: fromContent(head, truncated), compressed: null };
}

function withCompression(type: string | null, compression: Compression, bgzf: boolean): string {
  if (type === "bam" || type === "bigwig" || type === "bigbed" || type === "cram" || type === "h5") return type;
  if (type === "vcf" && bgzf) return "vcf_bgzip";
  const suffix = SUFFIX_OF[compression] as "gz" | "bz2";
  if (type && COMPRESSED_VARIANTS[type]?.includes(suffix)) return `${type}.${suffix}`;
  return compression === "gzip" ? "gz" : "data";
}

/** The datatype named by the file's suffix, looking past a compression suffix (`x.bed.gz` -> bed). */
export function fromName(name: string): string | null {
  const parts = name.toLowerCase().split(/[\\/]/).pop()!.split(".");
  if (parts.length < 2) return null;
  let last = parts.pop()!;
  if ((last === "gz" || last === "bz2" || last === "gzip") && parts.length >= 2) last = parts.pop()!;
  else if (last === "gz" || last === "bz2" || last === "gzip") return null;
  return SUFFIX_TO_EXT[last] ?? null;
}

/** The datatype of (decompressed) content, Galaxy-sniffer style; `data` for unknown binary. */
export function fromContent(head: Buffer, truncated: boolean): string {
  const magic = binaryMagic(head);
  if (magic) return magic;
  if (head.length === 0) return "txt";
  if (looksBinary(head)) return "data";
  const text = head.toString("utf8");
  const lines = headLines(text, truncated);
  if (isVcf(lines)) return "vcf";
  const gff = gffKind(lines);
  if (gff) return gff;
  if (isSam(lines)) return "sam";
  if (isFastq(lines)) return "fastqsanger";
  if (isFasta(lines)) return "fasta";
  if (isJson(text, truncated)) return "json";
  if (isBed(lines)) return "bed";
  if (isTabular(lines)) return "tabular";
  if (isCsv(lines)) return "csv";
  return "txt";
}
