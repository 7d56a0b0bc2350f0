import { mimeTypeOf } from "@skyferry/datatypes";

/** Galaxy's datatype class per extension (`data_type`). */
const INFO: Record<string, { cls: string }> = {
  bed: { cls: "galaxy.datatypes.interval.Bed" },
  bam: { cls: "galaxy.datatypes.binary.Bam" },
  sam: { cls: "galaxy.datatypes.tabular.Sam" },
  fastq: { cls: "galaxy.datatypes.sequence.Fastq" },
  fastqsanger: { cls: "galaxy.datatypes.sequence.FastqSanger" },
  fasta: { cls: "galaxy.datatypes.sequence.Fasta" },
  vcf: { cls: "galaxy.datatypes.tabular.Vcf" },
  gff: { cls: "galaxy.datatypes.interval.Gff" },
  gff3: { cls: "galaxy.datatypes.interval.Gff3" },
  gtf: { cls: "galaxy.datatypes.interval.Gtf" },
  tabular: { cls: "galaxy.datatypes.tabular.Tabular" },
  csv: { cls: "galaxy.datatypes.tabular.CSV" },
  tsv: { cls: "galaxy.datatypes.tabular.TSV" },
  json: { cls: "galaxy.datatypes.text.Json" },
  txt: { cls: "galaxy.datatypes.data.Text" },
  gz: { cls: "galaxy.datatypes.binary.CompressedArchive" },
  zip: { cls: "galaxy.datatypes.binary.CompressedZipArchive" },
  data: { cls: "galaxy.datatypes.data.Data" },
  binary: { cls: "galaxy.datatypes.binary.Binary" },
};

export const dataTypeClass = (ext: string): string => INFO[ext]?.cls ?? "galaxy.datatypes.data.Data";

/**
 * The content type display answers with (@skyferry/datatypes): markup is served as plain text,
 * unknown types as octet-stream, so an uploaded file cannot script the API's origin.
 */
export const contentTypeOf = (ext: string): string => mimeTypeOf(ext);

/** Extensions a client may set: lowercase letters, digits, `.`, `_`, `-`. */
export const EXTENSION = /^[a-z0-9][a-z0-9._-]{0,31}$/;
