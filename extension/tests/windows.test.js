import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { isUncertainWindow, summaryMessage, WindowAggregator } from "../lib/windows.js";

// The same cases the server's aggregator must pass (tests/moods/stream/test_window_vectors.py).
const vectors = JSON.parse(readFileSync(new URL("./vectors/windows.json", import.meta.url), "utf8"));
const t0 = Date.parse(vectors.t0);
const ms = (seconds) => t0 + Math.round(seconds * 1000);

function described(window) {
  if (window === null) {
    return null;
  }
  const { start, end, frames, faces, scores, dominant, uncertain } = window;
  return { start: (start - t0) / 1000, end: (end - t0) / 1000, frames, faces, scores, dominant, uncertain };
}

for (const testCase of vectors.cases) {
  test(`window rules shared with the server: ${testCase.name}`, () => {
    const aggregator = new WindowAggregator({ windowSeconds: testCase.window_seconds });
    for (const step of testCase.steps) {
      if ("add" in step) {
        aggregator.add(step.add, ms(step.at));
      } else if ("due" in step) {
        assert.equal(aggregator.due(ms(step.due)), step.expect);
      } else if ("close" in step) {
        assert.deepEqual(described(aggregator.close(ms(step.close))), step.expect);
      } else {
        assert.deepEqual(described(aggregator.flush(ms(step.flush))), step.expect);
      }
    }
  });
}

test("a window closed at its first frame still has a duration", () => {
  const aggregator = new WindowAggregator({ windowSeconds: 60 });
  aggregator.add({ angry: 0, disgust: 0, fear: 0, happy: 1, sad: 0, surprise: 0, neutral: 0 }, t0);
  const window = aggregator.flush(t0);
  assert.ok(window.end > window.start);
});

test("scores missing an emotion throw and change nothing", () => {
  const aggregator = new WindowAggregator({ windowSeconds: 60 });
  assert.throws(() => aggregator.add({ angry: 0.5, neutral: 0.5 }, t0), TypeError);
  assert.deepEqual([aggregator.start, aggregator.frames, aggregator.faces], [null, 0, 0]);
});

test("uncertain below three faces or without an expression at 0.4", () => {
  const clear = { angry: 0.05, disgust: 0.05, fear: 0.05, happy: 0.05, sad: 0.7, surprise: 0.05, neutral: 0.05 };
  assert.equal(isUncertainWindow({ faces: 2, scores: clear }), true);
  assert.equal(isUncertainWindow({ faces: 3, scores: clear }), false);
  assert.equal(isUncertainWindow({ faces: 0, scores: null }), true);
});

test("a summary message carries the window, its key and whether the baseline applied", () => {
  const aggregator = new WindowAggregator({ windowSeconds: 60 });
  const sad = { angry: 0.02, disgust: 0.01, fear: 0.02, happy: 0.05, sad: 0.7, surprise: 0, neutral: 0.2 };
  for (let i = 0; i < 3; i += 1) {
    aggregator.add(sad, t0 + i * 1000);
  }
  const window = aggregator.close(t0 + 60_000);
  const key = "6f1d3c2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f";
  assert.deepEqual(summaryMessage(window, { key, baseline: true }), {
    type: "summary",
    v: 1,
    key,
    start: "2026-05-04T09:00:00.000Z",
    end: "2026-05-04T09:01:00.000Z",
    frames: 3,
    faces: 3,
    scores: sad,
    uncertain: false,
    baseline: true,
  });
});
