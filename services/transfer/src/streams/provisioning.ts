import type { Bus } from "@skyferry/bus";
import type { TransferStreams } from "./specs.ts";

type StreamBus = Pick<Bus, "namespace" | "ensureStream" | "ensureConsumer" | "hasStream" | "hasConsumer">;

/**
 * Creates or updates every stream, then every consumer (idempotent; safe to run at every install
 * and upgrade). Needs the `provisioner` identity's JetStream grants (or the stack's `operator`).
 */
export async function provisionStreams(bus: StreamBus, specs: TransferStreams): Promise<string[]> {
  const done: string[] = [];
  for (const s of specs.streams) {
    await bus.ensureStream(s);
    done.push(`stream ${s.name(bus.namespace)}`);
  }
  for (const c of specs.consumers) {
    await bus.ensureConsumer(c);
    done.push(`consumer ${c.stream.name(bus.namespace)}/${c.durable}`);
  }
  return done;
}

/** The streams and consumers not there (by name); empty when all are. */
export async function missingStreams(bus: StreamBus, specs: TransferStreams): Promise<string[]> {
  const missing: string[] = [];
  for (const s of specs.streams) if (!(await bus.hasStream(s))) missing.push(`stream ${s.name(bus.namespace)}`);
  for (const c of specs.consumers) if (!(await bus.hasConsumer(c))) missing.push(`consumer ${c.stream.name(bus.namespace)}/${c.durable}`);
  return missing;
}
