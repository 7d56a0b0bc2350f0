import { type Context, context, propagation, ROOT_CONTEXT, SpanKind, type Tracer, trace } from "@opentelemetry/api";
import { headers as natsHeaders, type MsgHdrs } from "nats";

/**
 * W3C trace context across NATS (issue 22): a request, a served request, a work message and its
 * handler are spans of one trace, the context carried in the message's headers (`traceparent`,
 * `tracestate`). Only the OpenTelemetry API is used here: with no SDK registered (tracing off, the
 * default) every span is a no-op and no header is added.
 */

const setter = { set: (carrier: MsgHdrs, key: string, value: string) => carrier.set(key, value) };
const getter = {
  get: (carrier: MsgHdrs | undefined, key: string) => carrier?.get(key) || undefined,
  keys: (carrier: MsgHdrs | undefined) => (carrier ? carrier.keys() : []),
};

/** Headers carrying the active context, or undefined when there is nothing to carry (tracing off). */
export function traceHeaders(): MsgHdrs | undefined {
  const carrier = natsHeaders();
  propagation.inject(context.active(), carrier, setter);
  return carrier.keys().length > 0 ? carrier : undefined;
}

/** The context a received message's headers carry (a new trace when they carry none). */
export function contextOf(headers: MsgHdrs | undefined): Context {
  return headers ? propagation.extract(ROOT_CONTEXT, headers, getter) : ROOT_CONTEXT;
}

/** The subject without the deployment's namespace: span names that compare across deployments. */
export function spanSubject(namespace: string, subject: string): string {
  return subject.startsWith(`${namespace}.`) ? subject.slice(namespace.length + 1) : subject;
}

export { inSpan, markFailed } from "@skyferry/tracing";
export { SpanKind, type Tracer };
export const tracerFor = (service: string): Tracer => trace.getTracer(`skyferry-${service}`);
