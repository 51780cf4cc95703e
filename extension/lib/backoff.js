// Reconnection delays: exponential backoff with "equal jitter", so that many extensions that
// lost the same server do not come back at the same instant, yet none waits less than half
// of its step.

export const BASE_DELAY_MS = 1000;
export const MAX_DELAY_MS = 30000;

/**
 * The delay before reconnection attempt `attempt` (0 for the first retry).
 * @param {number} attempt
 * @param {{baseMs?: number, maxMs?: number, random?: () => number}} [options]
 * @returns {number} milliseconds, in [step / 2, step] where step = min(maxMs, baseMs * 2^attempt)
 */
export function backoffDelay(attempt, { baseMs = BASE_DELAY_MS, maxMs = MAX_DELAY_MS, random = Math.random } = {}) {
  if (!Number.isInteger(attempt) || attempt < 0) {
    throw new RangeError(`attempt must be a non-negative integer, got ${attempt}`);
  }
  // 2 ** 31 already exceeds any sensible cap; clamping keeps the arithmetic finite.
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 31));
  const half = step / 2;
  return Math.round(half + random() * half);
}

/** Counts failed attempts; a connection that reached `ready` resets it. */
export class Backoff {
  constructor(options = {}) {
    this.options = options;
    this.attempt = 0;
  }

  next() {
    const delay = backoffDelay(this.attempt, this.options);
    this.attempt += 1;
    return delay;
  }

  reset() {
    this.attempt = 0;
  }
}
