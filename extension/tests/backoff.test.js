import { test } from "node:test";
import assert from "node:assert/strict";

import { Backoff, backoffDelay, BASE_DELAY_MS, MAX_DELAY_MS } from "../lib/backoff.js";

test("each step doubles, between half and the whole step", () => {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const step = BASE_DELAY_MS * 2 ** attempt;
    assert.equal(backoffDelay(attempt, { random: () => 0 }), step / 2);
    assert.equal(backoffDelay(attempt, { random: () => 0.999999 }), step);
  }
});

test("the delay never exceeds the cap, however many attempts", () => {
  for (const attempt of [5, 10, 31, 1000]) {
    assert.equal(backoffDelay(attempt, { random: () => 0.999999 }), MAX_DELAY_MS);
    assert.equal(backoffDelay(attempt, { random: () => 0 }), MAX_DELAY_MS / 2);
  }
});

test("jitter spreads clients that lost the same server", () => {
  const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4)));
  assert.ok(delays.size > 10, `only ${delays.size} distinct delays`);
});

test("a bad attempt number is refused", () => {
  assert.throws(() => backoffDelay(-1), RangeError);
  assert.throws(() => backoffDelay(1.5), RangeError);
});

test("Backoff counts attempts and starts over after reset", () => {
  const backoff = new Backoff({ random: () => 0 });
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [500, 1000, 2000]);
  backoff.reset();
  assert.equal(backoff.next(), 500);
});
