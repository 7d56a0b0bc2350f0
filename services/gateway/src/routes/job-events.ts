import type { Bus } from "@skyferry/bus";
import {
  type Actor, type TransferJob, TransferJobCompleted, TransferJobFailed, TransferJobGet, TransferJobProgress,
} from "@skyferry/contracts";
import type { FastifyReply, FastifyRequest } from "fastify";

const FINAL = new Set(["ok", "error", "deleted"]);

/**
 * Streams a job as Server-Sent Events: `state` (the job now), `progress` events, then `completed`
 * or `failed` (the final job) and the end of the stream. Subscribes before reading the job so no
 * transition between the two is missed.
 */
export async function streamJobEvents(bus: Bus, req: FastifyRequest, reply: FastifyReply, ref: { actor: Actor; job_id: string }, timeoutMs: number): Promise<void> {
  const id = ref.job_id;
  const queued: Array<[string, unknown]> = [];
  const sink: { write?: (event: string, data: unknown) => void } = {};
  const push = (event: string, data: unknown) => (sink.write ? sink.write(event, data) : queued.push([event, data]));
  const subs = [
    bus.on(TransferJobProgress, TransferJobProgress.subject(bus.namespace, id), (d) => push("progress", d)),
    bus.on(TransferJobCompleted, TransferJobCompleted.subject(bus.namespace, id), (d) => push("completed", d.job)),
    bus.on(TransferJobFailed, TransferJobFailed.subject(bus.namespace, id), (d) => push("failed", d.job)),
  ];
  const unsubscribe = () => subs.forEach((s) => s.unsubscribe());
  let job: TransferJob;
  try {
    job = await bus.request(TransferJobGet, ref, { timeoutMs });
  } catch (err) {
    unsubscribe();
    throw err;
  }
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    unsubscribe();
    res.end();
  };
  req.raw.on("close", end);
  const write = (event: string, data: unknown) => {
    if (ended) return;
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (event !== "progress") end();
  };
  res.write(`event: state\ndata: ${JSON.stringify(job)}\n\n`);
  if (FINAL.has(job.state)) {
    end();
    return;
  }
  for (const [event, data] of queued) write(event, data);
  sink.write = write;
}
