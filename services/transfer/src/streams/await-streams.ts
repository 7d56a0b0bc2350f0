import type { Logger } from "@skyferry/logger";
import { PROVISION_COMMAND } from "./specs.ts";

export interface StreamsGate {
  /** True once the streams were found (and `onPresent` ran); the `/readyz` check `streams`. */
  readonly ready: boolean;
  /** Stops retrying and waits for a running `onPresent` to finish. */
  close(): Promise<void>;
}

export interface StreamsGateOptions {
  /** The streams and consumers not there (by name); throws when it cannot tell. */
  missing: () => Promise<string[]>;
  /** What to start once they are there (the workers); runs once. */
  onPresent: () => Promise<void>;
  logger: Pick<Logger, "error" | "info">;
  retryMs: number;
}

/**
 * Waits for the provisioned streams: the service does not make them (it may not: docs/trust.md),
 * so when they are missing it says which and how to make them, reports not ready, and checks again
 * every `retryMs` instead of crashing. The first check is awaited, so a provisioned deployment
 * starts its workers before the service listens, as before.
 */
export async function awaitStreams(options: StreamsGateOptions): Promise<StreamsGate> {
  const { logger, retryMs } = options;
  let ready = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let attempts = 0;

  const attempt = async (): Promise<boolean> => {
    attempts += 1;
    // Said once, then once a minute, not at every retry.
    const loud = attempts === 1 || (attempts * retryMs) % 60_000 < retryMs;
    let missing: string[];
    try {
      missing = await options.missing();
    } catch (err) {
      if (loud) logger.error({ err, retry_ms: retryMs }, "cannot check the JetStream streams; not ready, retrying");
      return false;
    }
    if (missing.length > 0) {
      if (loud) {
        logger.error(
          { missing, provision_command: PROVISION_COMMAND, retry_ms: retryMs },
          `JetStream streams or consumers missing (${missing.join(", ")}): the transfer service does not create them; run the provisioning (${PROVISION_COMMAND}, as the provisioner identity) for this namespace. Not ready; checking again`,
        );
      }
      return false;
    }
    if (closed) return false;
    await options.onPresent();
    ready = true;
    if (attempts > 1) logger.info({ attempts }, "JetStream streams present; ready");
    return true;
  };

  const schedule = () => {
    timer = setTimeout(() => {
      running = attempt().then(
        (ok) => {
          if (!ok && !closed) schedule();
        },
        (err: unknown) => {
          logger.error({ err }, "starting the workers failed; checking again");
          if (!closed) schedule();
        },
      );
    }, retryMs);
  };

  if (!(await attempt())) schedule();
  return {
    get ready() {
      return ready;
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
