import type { FastifyInstance } from "fastify";

export interface EarlyReplyLimits {
  /** Most bytes of an unread request body read and dropped before answering. */
  maxBytes: number;
  /** Longest wait for the rest of the body before answering anyway. */
  maxMs: number;
}

export const EARLY_REPLY_LIMITS: EarlyReplyLimits = { maxBytes: 64 * 1024 * 1024, maxMs: 10_000 };

/**
 * Lets an answer given before the request body was read (a 413 mid-upload, a 401, a proxied
 * error) reach the client. A socket closed with unread bytes in it makes the kernel send a
 * reset, and a client still sending its body then loses the answer: ECONNRESET for a script,
 * a 503 behind the gateway. So the rest of the body is read and dropped first, and the answer
 * goes out once the body has ended, on a connection that stays usable. Past the limits the
 * answer goes out at once with `connection: close` (a client sending gigabytes after a 413 may
 * then see the reset rather than the answer).
 */
export function drainAfterEarlyReply(app: FastifyInstance, limits: EarlyReplyLimits = EARLY_REPLY_LIMITS): void {
  app.addHook("onSend", (req, reply, payload, done) => {
    const body = req.raw;
    if (body.complete || body.destroyed) return done(null, payload);
    // Whoever was reading the body (a multipart parser, a proxy) is finished with it.
    body.unpipe();
    body.removeAllListeners("data");
    let dropped = 0;
    let answered = false;
    const answer = (drained: boolean) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      body.off("end", ended).off("close", gone);
      if (drained) {
        // A proxy asks for `connection: close` when its upstream answered early; drained, the
        // connection is reusable.
        reply.removeHeader("connection");
      } else {
        body.off("data", drop);
        body.pause();
        reply.header("connection", "close");
      }
      done(null, payload);
    };
    const drop = (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > limits.maxBytes) answer(false);
    };
    const ended = () => answer(true);
    const gone = () => answer(body.complete);
    const timer = setTimeout(() => answer(false), limits.maxMs);
    body.on("data", drop).once("end", ended).once("close", gone).on("error", () => undefined);
    body.resume();
  });
}
