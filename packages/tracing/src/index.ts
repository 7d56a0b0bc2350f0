export { startTracing, type Tracing, type TracingOptions } from "./setup.ts";
export { registerHttpTracing } from "./http.ts";
export { inSpan, markFailed } from "./span.ts";
export { SpanKind } from "@opentelemetry/api";
