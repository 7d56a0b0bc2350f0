import { type Context, context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";

/** Marks a span failed with the error's code (or name) only: an error's text may name a key or a bucket. */
export function markFailed(span: Span, err: unknown): void {
  const code = (err as { code?: unknown } | null)?.code ?? (err as { name?: unknown } | null)?.name;
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === "string" ? code : "error" });
}

/**
 * Runs `fn` in a new active span -- a child of `parent` (default: the active context) -- ended when
 * it settles; a throw marks it failed (`markFailed`). A no-op span with tracing off. The one helper
 * of the bus's NATS spans and the storage adapters' provider spans.
 */
export async function inSpan<T>(
  tracer: Tracer | string,
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
  options: { kind?: SpanKind; parent?: Context } = {},
): Promise<T> {
  const t = typeof tracer === "string" ? trace.getTracer(tracer) : tracer;
  return t.startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes }, options.parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      markFailed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}
