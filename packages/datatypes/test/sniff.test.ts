import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import { KNOWN_EXTS, mimeTypeOf, SNIFF_BYTES, sniffDatatype } from "../src/index.ts";

const sniff = (name: string, head: Buffer | string) => sniffDatatype({ name, head: Buffer.isBuffer(head) ? head : Buffer.from(head) });

/** One BGZF block (gzip member with the BC extra subfield), as samtools/bgzip write them. */
function bgzf(data: Buffer): Buffer {
  const deflated = deflateRawSync(data);
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 6, 0, 0x42, 0x43, 2, 0, 0, 0]);
  header.writeUInt16LE(header.length + deflated.length + 8 - 1, 16);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length, 4);
  return Buffer.concat([header, deflated, trailer]);
}

const SAMPLES = {
  bed: "chr1\t100\t200\tfeature1\t0\t+\nchr2\t5000\t5100\tfeature2\t3\t-\n",
  bedWithTrack: 'track name="x"\nbrowser position chr1:1-100\nchr1\t1\t10\n',
  fastq: "@r1\nACGTNACGTA\n+\nIIIIIIIIII\n@r2\nGGCCA\n+r2\n!!##$\n",
  fasta: ">seq1 description\nACGTACGTACGT\nACGT\n>seq2\nMKVLA*\n",
  vcf: "##fileformat=VCFv4.2\n##source=test\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t100\t.\tA\tG\t50\tPASS\t.\n",
  samHeader: "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:1000\nr1\t0\tchr1\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\n",
  samBare: "r1\t0\tchr1\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\nr2\t16\tchr1\t9\t30\t4M\t*\t0\t0\tTTGA\tIIII\n",
  gff3: "##gff-version 3\nchr1\t.\tgene\t1\t100\t.\t+\t.\tID=g1;Name=G1\n",
  gff3Bare: "chr1\tsrc\tgene\t1\t100\t.\t+\t.\tID=g1;Name=G1\nchr1\tsrc\tmRNA\t1\t100\t.\t+\t.\tID=m1;Parent=g1\n",
  gtf: 'chr1\tsrc\texon\t1\t100\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\nchr1\tsrc\texon\t200\t300\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\n',
  gff2: "##gff-version 2\nchr1\tsrc\tgene\t1\t100\t.\t+\t.\tgene g1\n",
  json: '{"a": [1, 2, {"b": null}], "c": "d"}\n',
  csv: 'name,value,note\nalpha,1,"x, y"\nbeta,2,z\n',
  tabular: "name\tvalue\tother\nalpha\tx\ty\nbeta\tz\tw\n",
  txt: "Just some notes.\nNothing structured here.\n",
} as const;

describe("sniffDatatype by name", () => {
  const cases: Array<[string, string]> = [
    ["peaks.bed", "bed"], ["aln.bam", "bam"], ["reads.fastq", "fastqsanger"], ["reads.fq", "fastqsanger"],
    ["genome.fasta", "fasta"], ["genome.fa", "fasta"], ["genome.fna", "fasta"], ["calls.vcf", "vcf"],
    ["genes.gff", "gff3"], ["genes.gff3", "gff3"], ["genes.gtf", "gtf"], ["aln.sam", "sam"],
    ["table.tabular", "tabular"], ["table.tsv", "tabular"], ["table.csv", "csv"], ["data.json", "json"],
    ["notes.txt", "txt"], ["cov.bigwig", "bigwig"], ["cov.bw", "bigwig"], ["matrix.h5", "h5"], ["DIR/Reads.FQ", "fastqsanger"],
  ];
  for (const [name, ext] of cases) {
    test(`${name} -> ${ext} (the suffix wins over the content)`, () => {
      assert.deepEqual(sniff(name, SAMPLES.txt), { ext, compressed: null });
    });
  }
});

describe("sniffDatatype by content (no known suffix)", () => {
  const cases: Array<[keyof typeof SAMPLES, string]> = [
    ["bed", "bed"], ["bedWithTrack", "bed"], ["fastq", "fastqsanger"], ["fasta", "fasta"], ["vcf", "vcf"],
    ["samHeader", "sam"], ["samBare", "sam"], ["gff3", "gff3"], ["gff3Bare", "gff3"], ["gtf", "gtf"], ["gff2", "gff"],
    ["json", "json"], ["csv", "csv"], ["tabular", "tabular"], ["txt", "txt"],
  ];
  for (const [sample, ext] of cases) {
    test(`${sample} sample -> ${ext}`, () => {
      assert.deepEqual(sniff("upload", SAMPLES[sample]), { ext, compressed: null });
      assert.deepEqual(sniff("upload.dat", SAMPLES[sample]), { ext, compressed: null }, "an unknown suffix falls back to content");
    });
  }

  test("binary formats by magic; other binary is data; empty is txt", () => {
    const bigwig = Buffer.alloc(64);
    bigwig.writeUInt32LE(0x888ffc26, 0);
    assert.deepEqual(sniff("upload", bigwig), { ext: "bigwig", compressed: null });
    assert.deepEqual(sniff("upload", Buffer.concat([Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100)])), { ext: "h5", compressed: null });
    assert.deepEqual(sniff("upload", Buffer.from([0, 1, 2, 3, 200, 201, 0, 0])), { ext: "data", compressed: null });
    assert.deepEqual(sniff("upload", Buffer.alloc(0)), { ext: "txt", compressed: null });
  });

  test("a head cut mid-record still sniffs (the partial last line is ignored)", () => {
    const reads = Array.from({ length: 3000 }, (_, i) => `@read${i}\nACGTACGTAC\n+\nIIIIIIIIII\n`).join("");
    const head = Buffer.from(reads).subarray(0, SNIFF_BYTES);
    assert.ok(head.length === SNIFF_BYTES && !head.toString().endsWith("\n"));
    assert.equal(sniff("upload", head).ext, "fastqsanger");
    const bigJson = Buffer.from(JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => ({ i })) })).subarray(0, SNIFF_BYTES);
    assert.equal(sniff("upload", bigJson).ext, "json");
  });

  test("near misses are not taken for the stricter type", () => {
    assert.equal(sniff("upload", "chr1\tabc\t200\nchr2\t1\t2\n").ext, "tabular", "non-integer start is not bed");
    assert.equal(sniff("upload", "chr1\t300\t200\n").ext, "tabular", "start after end is not bed");
    assert.equal(sniff("upload", "@r1\nACGT\n+\nII\n").ext, "txt", "quality shorter than sequence is not fastq");
    assert.equal(sniff("upload", "{not json at all\n").ext, "txt");
  });
});

describe("sniffDatatype with compression (magic decides, name or inflated content gives the type)", () => {
  test("gzip FASTQ is fastqsanger.gz, by name or by content", () => {
    const gz = gzipSync(SAMPLES.fastq);
    assert.deepEqual(sniff("reads.fastq.gz", gz), { ext: "fastqsanger.gz", compressed: "gzip" });
    assert.deepEqual(sniff("upload", gz), { ext: "fastqsanger.gz", compressed: "gzip" });
    assert.deepEqual(sniff("reads.fastq", gz), { ext: "fastqsanger.gz", compressed: "gzip" }, "compression comes from the bytes, not the name");
    assert.deepEqual(sniff("reads.fastq.gz", SAMPLES.fastq), { ext: "fastqsanger", compressed: null }, "a .gz name on plain bytes is not compressed");
  });

  test("only the head of a large gzip file is needed", () => {
    const reads = Array.from({ length: 50_000 }, (_, i) => `@read${i}\n${"ACGT".repeat(25)}\n+\n${"I".repeat(100)}\n`).join("");
    const gz = gzipSync(reads, { level: 1 });
    assert.ok(gz.length > SNIFF_BYTES);
    assert.deepEqual(sniff("upload", gz.subarray(0, SNIFF_BYTES)), { ext: "fastqsanger.gz", compressed: "gzip" });
  });

  test("gzip of a type Galaxy keeps compressed keeps it; other types become Galaxy's generic gz", () => {
    assert.deepEqual(sniff("genome.fa.gz", gzipSync(SAMPLES.fasta)), { ext: "fasta.gz", compressed: "gzip" });
    assert.deepEqual(sniff("genes.gtf.gz", gzipSync(SAMPLES.gtf)), { ext: "gtf.gz", compressed: "gzip" });
    assert.deepEqual(sniff("peaks.bed.gz", gzipSync(SAMPLES.bed)), { ext: "gz", compressed: "gzip" });
    assert.deepEqual(sniff("upload", gzipSync(randomBytes(500))), { ext: "gz", compressed: "gzip" });
  });

  test("BGZF VCF is vcf_bgzip; BAM (BGZF with the BAM magic) is bam", () => {
    assert.deepEqual(sniff("calls.vcf.gz", bgzf(Buffer.from(SAMPLES.vcf))), { ext: "vcf_bgzip", compressed: "gzip" });
    assert.deepEqual(sniff("upload", bgzf(Buffer.from(SAMPLES.vcf))), { ext: "vcf_bgzip", compressed: "gzip" });
    assert.deepEqual(sniff("calls.vcf.gz", gzipSync(SAMPLES.vcf)), { ext: "gz", compressed: "gzip" }, "plain gzip is not bgzip");
    const bam = bgzf(Buffer.concat([Buffer.from("BAM\u0001"), Buffer.alloc(4), randomBytes(200)]));
    assert.deepEqual(sniff("upload", bam), { ext: "bam", compressed: null });
    assert.deepEqual(sniff("aln.bam", bam), { ext: "bam", compressed: null });
  });

  test("zip is zip; bzip2 by name where Galaxy has the .bz2 type, else data", () => {
    const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), randomBytes(60)]);
    assert.deepEqual(sniff("archive.zip", zip), { ext: "zip", compressed: "zip" });
    assert.deepEqual(sniff("reads.fastq", zip), { ext: "zip", compressed: "zip" });
    const bz2 = Buffer.concat([Buffer.from("BZh91AY&SY"), randomBytes(60)]);
    assert.deepEqual(sniff("genome.fasta.bz2", bz2), { ext: "fasta.bz2", compressed: "bzip2" });
    assert.deepEqual(sniff("upload", bz2), { ext: "data", compressed: "bzip2" });
  });
});

test("every returned extension is a known Galaxy extension, and its content type never renders HTML", () => {
  for (const ext of ["bed", "fastqsanger.gz", "vcf_bgzip", "gz", "data", "zip", "json", "csv", "tabular", "bam", "h5"]) assert.ok(KNOWN_EXTS.has(ext), ext);
  assert.equal(mimeTypeOf("bed"), "text/plain; charset=utf-8");
  assert.equal(mimeTypeOf("html"), "text/plain; charset=utf-8");
  assert.equal(mimeTypeOf("json"), "application/json");
  assert.equal(mimeTypeOf("fastqsanger.gz"), "application/gzip");
  assert.equal(mimeTypeOf("bam"), "application/octet-stream");
});
