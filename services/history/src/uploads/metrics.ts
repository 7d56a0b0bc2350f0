import type { ServiceMetrics } from "@skyferry/metrics";
import type { createIngest } from "./ingest.ts";

type Ingest = ReturnType<typeof createIngest>;

/** Seconds one dataset's upload took, from its first byte to its record: 10 ms to 1 h. */
const UPLOAD_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/**
 * `ingest` counted for /metrics: datasets uploaded (from a file or a URL) by outcome, their bytes,
 * and how long each took. A failed upload's code (`UPLOAD_TOO_LARGE`, ...) is its outcome.
 */
export function measuredIngest(ingest: Ingest, m: ServiceMetrics): Ingest {
  const uploads = m.histogram("skyferry_history_upload_duration_seconds", "Datasets uploaded into histories, by source and outcome, and how long each took.", ["source", "outcome"], UPLOAD_BUCKETS);
  const bytes = m.counter("skyferry_history_upload_bytes_total", "Bytes of the datasets uploaded into histories.", ["source"]);
  return async (history, actor, input) => {
    const source = input.sourceUri === undefined ? "file" : "url";
    const t0 = performance.now();
    try {
      const doc = await ingest(history, actor, input);
      uploads.observe({ source, outcome: "ok" }, (performance.now() - t0) / 1000);
      bytes.inc({ source }, doc.file_size);
      return doc;
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      uploads.observe({ source, outcome: typeof code === "string" && /^[A-Z0-9_]{1,64}$/.test(code) ? code : "error" }, (performance.now() - t0) / 1000);
      throw err;
    }
  };
}
