import { context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

/**
 * Runs `fn` in a child span of the active one (a job's run, a provider's request), ended when it
 * settles; a failure marks it with its code only (an error's text may name a key or a bucket).
 */
export async function inSpan<T>(tracerName: string, name: string, attributes: Record<string, string | number | boolean>, fn: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  return trace.getTracer(tracerName).startActiveSpan(name, { kind, attributes }, context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      const code = (err as { code?: unknown; name?: unknown } | null)?.code ?? (err as { name?: unknown } | null)?.name;
      span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === "string" ? code : "error" });
      throw err;
    } finally {
      span.end();
    }
  });
}
