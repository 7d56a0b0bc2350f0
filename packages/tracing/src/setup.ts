import { context, propagation, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

export interface TracingOptions {
  /** The service (`skyferry-<service>` is the resource's service.name). */
  service: string;
  instance: string;
  /** OTLP/HTTP base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. http://collector:4318); empty: tracing off. */
  endpoint: string;
  /** Share of new traces recorded (a trace begun upstream keeps its own decision). */
  sampleRatio: number;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Sends the spans not yet exported, then stops (the last user in the process stops the provider). */
  shutdown(): Promise<void>;
}

let shared: { provider: NodeTracerProvider; users: number } | undefined;

/**
 * Registers OpenTelemetry's tracer provider for this process: W3C trace context, the
 * AsyncLocalStorage context manager, spans batched to the OTLP/HTTP endpoint. Off (nothing
 * registered, every span a no-op) when no endpoint is configured, which is the default. Several
 * services built in one process (the tests) share one provider; each names its spans' tracer after
 * itself (`skyferry-<service>`).
 */
export function startTracing(options: TracingOptions): Tracing {
  if (options.endpoint === "") return { enabled: false, shutdown: async () => undefined };
  if (!shared) {
    const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, "")}/v1/traces` });
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ "service.name": `skyferry-${options.service}`, "service.namespace": "skyferry", "service.instance.id": options.instance }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
    });
    provider.register();
    shared = { provider, users: 0 };
  }
  const mine = shared;
  mine.users += 1;
  let stopped = false;
  return {
    enabled: true,
    async shutdown() {
      if (stopped) return;
      stopped = true;
      mine.users -= 1;
      if (mine.users > 0) return void (await mine.provider.forceFlush());
      if (shared === mine) shared = undefined;
      await mine.provider.shutdown();
      // A later start in this process (a test) registers afresh.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
