// A job's work continued past JetStream's last delivery (guard.ts) goes on in a new message; the
// messages that carry one run of a job form a chain `<root>`, `<root>.c<t1>`, `<root>.c<t2>`, ...
// (the root being the job id, `<id>.r<n>` for a retry or `<id>.d<n>` for a re-drive). Only one
// message of a chain is ever live: a continuation is published after its predecessor's handler
// has ended, and that message is then acknowledged.

const CONTINUATION = /\.c[0-9a-z]+$/;

/** The id of the message that continues the work of message `messageId`: its chain's root + `.c<now>`. */
export function continuationId(messageId: string, nowMs: number): string {
  return `${messageId.replace(CONTINUATION, "")}.c${nowMs.toString(36)}`;
}

/**
 * Matches the ids of every message of `messageId`'s chain. A claim made for one of them is held by
 * the same run of work, so a continuation takes it over at once (as the same message redelivered
 * does); a claim for any other message -- a duplicate, a re-drive -- is not.
 */
export function chainPattern(messageId: string): RegExp {
  const root = messageId.replace(CONTINUATION, "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${root}(\\.c[0-9a-z]+)?$`);
}
