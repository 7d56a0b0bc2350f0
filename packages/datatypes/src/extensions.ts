/**
 * Galaxy datatype extensions (`file_ext`) this package names, from Galaxy's datatypes_conf.xml.
 * A name's file suffix maps to one of them (Galaxy's `infer_from` where it has one: `.fq`/`.fastq`
 * are `fastqsanger`, `.gff` is `gff3`).
 */
export const SUFFIX_TO_EXT: Readonly<Record<string, string>> = {
  bed: "bed",
  bedgraph: "bedgraph",
  bam: "bam",
  cram: "cram",
  sam: "sam",
  fastq: "fastqsanger",
  fq: "fastqsanger",
  fastqsanger: "fastqsanger",
  fasta: "fasta",
  fa: "fasta",
  fna: "fasta",
  faa: "fasta",
  ffn: "fasta",
  fas: "fasta",
  vcf: "vcf",
  gff: "gff3",
  gff3: "gff3",
  gtf: "gtf",
  tabular: "tabular",
  tsv: "tabular",
  tab: "tabular",
  csv: "csv",
  json: "json",
  txt: "txt",
  text: "txt",
  bigwig: "bigwig",
  bw: "bigwig",
  bigbed: "bigbed",
  bb: "bigbed",
  h5: "h5",
  hdf5: "h5",
  wig: "wig",
  interval: "interval",
  xml: "xml",
  html: "html",
  pdf: "pdf",
  png: "png",
  jpg: "jpg",
  jpeg: "jpg",
  zip: "zip",
};

/**
 * Datatypes Galaxy keeps compressed (`auto_compressed_types`): `<ext>.gz` / `<ext>.bz2`.
 * Galaxy decompresses other types on upload; skyferry stores bytes as sent, so a compressed file of
 * any other type gets Galaxy's generic `gz` (gzip), `zip`, or `data` (bzip2).
 */
export const COMPRESSED_VARIANTS: Readonly<Record<string, ReadonlyArray<"gz" | "bz2">>> = {
  fasta: ["gz", "bz2"],
  fastq: ["gz", "bz2"],
  fastqsanger: ["gz", "bz2"],
  fastqsolexa: ["gz", "bz2"],
  fastqillumina: ["gz", "bz2"],
  fastqcssanger: ["gz", "bz2"],
  gff3: ["gz", "bz2"],
  gtf: ["gz"],
};

/** Extensions `sniffDatatype` can return (useful to validate a forced `file_type`). */
export const KNOWN_EXTS: ReadonlySet<string> = new Set([
  ...Object.values(SUFFIX_TO_EXT),
  ...Object.entries(COMPRESSED_VARIANTS).flatMap(([ext, kinds]) => kinds.map((k) => `${ext}.${k}`)),
  "fastq", "fastqsolexa", "fastqillumina", "fastqcssanger", "gff", "vcf_bgzip", "gz", "data", "binary",
]);

const TEXT_EXTS = new Set(["bed", "bedgraph", "sam", "fastq", "fastqsanger", "fastqsolexa", "fastqillumina", "fastqcssanger", "fasta", "vcf", "gff", "gff3", "gtf", "tabular", "txt", "wig", "interval"]);
const MIME: Readonly<Record<string, string>> = { json: "application/json", csv: "text/csv", xml: "application/xml", pdf: "application/pdf", png: "image/png", jpg: "image/jpeg", zip: "application/zip", gz: "application/gzip" };

/**
 * The content type to serve a dataset of this datatype with. Text datatypes are `text/plain`
 * (never `text/html`: user content must not run in the API's origin); unknown ones are binary.
 */
export function mimeTypeOf(ext: string): string {
  if (ext.endsWith(".gz") || ext === "vcf_bgzip") return "application/gzip";
  if (ext.endsWith(".bz2")) return "application/x-bzip2";
  if (TEXT_EXTS.has(ext) || ext === "html") return "text/plain; charset=utf-8";
  return MIME[ext] ?? "application/octet-stream";
}
