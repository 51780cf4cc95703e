import { test } from "node:test";
import assert from "node:assert/strict";

import { describeStatus, readingToShow, summaryIsStale } from "../lib/state.js";

const SCORES = { angry: 0, disgust: 0, fear: 0, happy: 0.7, sad: 0.1, surprise: 0, neutral: 0.2 };
const LATEST = { face: true, dominant: "happy", scores: SCORES, at: 1 };

test("a running, unpaused camera shows the last reading with its scores", () => {
  assert.deepEqual(readingToShow({ running: true, paused: false, latest: LATEST }), {
    text: "Mostly happy",
    scores: SCORES,
  });
});

test("a paused camera shows no reading, whatever was read last", () => {
  assert.deepEqual(readingToShow({ running: true, paused: true, latest: LATEST }), {
    text: "Paused: no reading while the camera is off.",
    scores: null,
  });
});

test("a stopped camera shows no reading", () => {
  assert.deepEqual(readingToShow({ running: false, paused: false, latest: LATEST }), {
    text: "The camera is off.",
    scores: null,
  });
});

test("no result yet, or no face, says so without scores", () => {
  assert.equal(readingToShow({ running: true, paused: false, latest: null }).text, "No reading yet.");
  const noFace = readingToShow({ running: true, paused: false, latest: { face: false, dominant: null, scores: null } });
  assert.deepEqual(noFace, { text: "No face in view.", scores: null });
});

test("only a stored window makes today's summary stale", () => {
  assert.equal(summaryIsStale({ lastWindow: { newValue: { end: "2026-11-27T10:01:00Z" } } }, "session"), true);
  assert.equal(summaryIsStale({ latest: { newValue: LATEST } }, "session"), false);
  assert.equal(summaryIsStale({ lastWindow: { newValue: {} } }, "local"), false);
});

test("a reading too even to name one expression says Not sure", () => {
  const even = { angry: 0.15, disgust: 0.1, fear: 0.15, happy: 0.15, sad: 0.15, surprise: 0.15, neutral: 0.15 };
  assert.deepEqual(readingToShow({ running: true, paused: false, latest: { face: true, dominant: "angry", scores: even } }), {
    text: "Not sure (closest: angry)",
    scores: even,
  });
});

test("a live connection that does not read says why", () => {
  const detail = "This browser is set to read your face on this computer, which this version cannot do yet.";
  assert.equal(describeStatus({ connection: "live", paused: false, detail }, { paired: true }), detail);
  assert.equal(
    describeStatus({ connection: "live", paused: false, detail: "" }, { paired: true }),
    "Live: reading your expression.",
  );
});
