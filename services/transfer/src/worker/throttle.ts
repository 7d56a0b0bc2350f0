/**
 * Calls `fn` with the latest value at most once per `intervalMs` (the first call at once, or with
 * `leading: false` not before `intervalMs` after creation; the last value of a burst after the
 * interval); `flush` delivers a pending value now.
 */
export function throttle<T>(intervalMs: number, fn: (value: T) => void, options: { leading?: boolean; now?: () => number } = {}) {
  const now = options.now ?? Date.now;
  let last = options.leading === false ? now() : Number.NEGATIVE_INFINITY;
  let pending: { value: T } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    timer = undefined;
    if (!pending) return;
    const { value } = pending;
    pending = undefined;
    last = now();
    fn(value);
  };
  return {
    push(value: T) {
      pending = { value };
      const wait = last + intervalMs - now();
      if (wait <= 0 && !timer) fire();
      else timer ??= setTimeout(fire, Math.max(0, wait));
    },
    flush() {
      if (timer) clearTimeout(timer);
      fire();
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      pending = undefined;
    },
  };
}
