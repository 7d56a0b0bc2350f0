export { createServiceMetrics, LATENCY_BUCKETS, type ServiceMetrics } from "./registry.ts";
export { registerHttpMetrics } from "./http.ts";
export { type BusRequestObserver, busRequestMetrics } from "./bus.ts";
export { type MetricsServer, serveMetrics } from "./server.ts";
