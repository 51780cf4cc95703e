import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { adjustScores, parseBaseline } from "../lib/baseline.js";
import { EMOTIONS } from "../lib/protocol.js";

// Written from the server's inference.baseline (tests/moods/stream/test_window_vectors.py).
const vectors = JSON.parse(readFileSync(new URL("./vectors/baseline.json", import.meta.url), "utf8"));

for (const testCase of vectors.baselines) {
  test(`the baseline adjusts as the server does: ${testCase.name}`, () => {
    const baseline = parseBaseline(testCase.excess);
    assert.notEqual(baseline, null);
    vectors.frames.forEach((frame, index) => {
      const adjusted = adjustScores(frame, baseline);
      for (const emotion of EMOTIONS) {
        // The server adjusts with the unrounded excess; the client gets it to 6 digits.
        assert.ok(Math.abs(adjusted[emotion] - testCase.adjusted[index][emotion]) <= 2e-6, `${emotion} of frame ${index}`);
      }
    });
  });
}

test("no baseline leaves the scores alone", () => {
  assert.deepEqual(adjustScores(vectors.frames[0], null), vectors.frames[0]);
});

test("a baseline field that is not seven non-negative numbers is no baseline", () => {
  const excess = Object.fromEntries(EMOTIONS.map((emotion) => [emotion, 0]));
  assert.deepEqual(parseBaseline({ excess }), { excess });
  assert.equal(parseBaseline(null), null);
  assert.equal(parseBaseline({ excess: { ...excess, sad: -1 } }), null);
  assert.equal(parseBaseline({ excess: { ...excess, sad: "1" } }), null);
  assert.equal(parseBaseline({ excess: { sad: 1 } }), null);
  assert.equal(parseBaseline({}), null);
});
