import type { ServiceMetrics } from "./registry.ts";

/** What the bus reports of each request it makes (see `BusOptions.observe` in @skyferry/bus). */
export interface BusRequestObserver {
  request(subject: string, outcome: string, seconds: number): void;
}

/**
 * `skyferry_nats_request_duration_seconds{subject, outcome}`: each NATS request this service made,
 * by subject (the namespace prefix removed, so deployments compare) and outcome (`ok` or the
 * error's code, e.g. `BUS_TIMEOUT`, `NOT_FOUND`).
 */
export function busRequestMetrics(metrics: ServiceMetrics, namespace: string): BusRequestObserver {
  const duration = metrics.histogram("skyferry_nats_request_duration_seconds", "NATS requests made, by subject and outcome, and how long each took.", ["subject", "outcome"]);
  const prefix = `${namespace}.`;
  return {
    request(subject, outcome, seconds) {
      duration.observe({ subject: subject.startsWith(prefix) ? subject.slice(prefix.length) : subject, outcome }, seconds);
    },
  };
}
