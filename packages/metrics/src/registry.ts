import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * One service's Prometheus metrics: its own registry (several services may share a process in the
 * tests), labelled with the service's name, with Node's process metrics (CPU, memory, event-loop
 * lag, GC, handles). `counter`/`gauge`/`histogram` make instruments registered here only.
 */
export interface ServiceMetrics {
  readonly service: string;
  readonly registry: Registry;
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L>;
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[], collect?: (this: Gauge<L>) => void | Promise<void>): Gauge<L>;
  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets?: number[]): Histogram<L>;
}

/** Seconds: 5 ms to 1 min, for requests and RPCs. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return {
    service,
    registry,
    counter: (name, help, labelNames) => new Counter({ name, help, labelNames, registers: [registry] }),
    gauge: (name, help, labelNames, collect) => new Gauge({ name, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) }),
    histogram: (name, help, labelNames, buckets = LATENCY_BUCKETS) => new Histogram({ name, help, labelNames, buckets, registers: [registry] }),
  };
}
