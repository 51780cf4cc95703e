import { test } from "node:test";
import assert from "node:assert/strict";

import {
  closeAction,
  DEFAULT_CAPTURE,
  effectiveCapture,
  EMOTIONS,
  FramePacer,
  isUncertain,
  MAX_MESSAGE_CHARS,
  parseServerMessage,
  ProtocolError,
  validateCapture,
  withServerCapture,
} from "../lib/protocol.js";

const scores = { angry: 0.01, disgust: 0, fear: 0.02, happy: 0.9, sad: 0.03, surprise: 0.01, neutral: 0.03 };
const parse = (message) => parseServerMessage(JSON.stringify(message));

test("ready: limits, and the site's capture defaults when valid", () => {
  const ready = { type: "ready", max_fps: 2, max_frame_bytes: 262144, window_seconds: 60 };
  assert.deepEqual(parse(ready), {
    type: "ready",
    maxFps: 2,
    maxFrameBytes: 262144,
    windowSeconds: 60,
    capture: null,
    mode: "server",
    baseline: null,
  });
  assert.deepEqual(parse({ ...ready, capture: { fps: 0.5, width: 320, height: 240 } }).capture, {
    fps: 0.5,
    width: 320,
    height: 240,
  });
  // Out of range: ignored, not fatal.
  assert.equal(parse({ ...ready, capture: { fps: 5, width: 320, height: 240 } }).capture, null);
  assert.equal(parse({ ...ready, capture: { fps: 1, width: 1920, height: 1080 } }).capture, null);
  assert.throws(() => parse({ ...ready, max_fps: 0 }), ProtocolError);
  assert.throws(() => parse({ ...ready, window_seconds: "60" }), ProtocolError);
});

test("result with a face: seven scores in order, the dominant one", () => {
  const result = parse({ type: "result", seq: 3, face: true, scores, dominant: "happy", latency_ms: 41.5 });
  assert.deepEqual(Object.keys(result.scores), EMOTIONS);
  assert.equal(result.dominant, "happy");
  assert.equal(result.latencyMs, 41.5);
});

test("result without a face has no scores", () => {
  assert.deepEqual(parse({ type: "result", seq: 1, face: false, latency_ms: 3 }), {
    type: "result",
    seq: 1,
    face: false,
    scores: null,
    dominant: null,
    latencyMs: 3,
  });
});

test("malformed results are refused", () => {
  const good = { type: "result", seq: 1, face: true, scores, dominant: "happy" };
  for (const bad of [
    { ...good, seq: 0 },
    { ...good, seq: "1" },
    { ...good, face: "yes" },
    { ...good, dominant: "joy" },
    { ...good, scores: { ...scores, sad: 1.5 } },
    { ...good, scores: { ...scores, sad: undefined } },
    { ...good, scores: [1, 2, 3] },
  ]) {
    assert.throws(() => parse(bad), ProtocolError, JSON.stringify(bad));
  }
});

test("dropped and error carry known reasons and codes only", () => {
  assert.deepEqual(parse({ type: "dropped", seq: 2, reason: "rate_limited" }), {
    type: "dropped",
    seq: 2,
    reason: "rate_limited",
  });
  assert.deepEqual(parse({ type: "error", seq: null, code: "bad_message" }), {
    type: "error",
    seq: null,
    code: "bad_message",
  });
  assert.throws(() => parse({ type: "dropped", seq: 2, reason: "tired" }), ProtocolError);
  assert.throws(() => parse({ type: "error", seq: 2, code: "oops" }), ProtocolError);
});

test("encourage: only web links survive in resources", () => {
  const message = parse({
    type: "encourage",
    id: 7,
    message: "Take a breath.",
    resources: [
      { name: "Helpline", contact: "116 123", url: "https://example.org/help" },
      { name: "Trick", contact: "", url: "javascript:alert(1)" },
      "not an object",
    ],
  });
  assert.deepEqual(message.resources, [
    { name: "Helpline", contact: "116 123", url: "https://example.org/help" },
    { name: "Trick", contact: "", url: "" },
  ]);
  assert.deepEqual(parse({ type: "encourage", id: 8, message: "Hi" }).resources, []);
  assert.throws(() => parse({ type: "encourage", id: "8", message: "Hi" }), ProtocolError);
  assert.throws(() => parse({ type: "encourage", id: 8, message: "" }), ProtocolError);
});

test("mood windows, pongs and the like parse; unknown types, non-JSON and huge texts do not", () => {
  const mood = parse({ type: "mood", start: "a", end: "b", frames: 5, faces: 4, scores, dominant: "happy" });
  assert.equal(mood.dominant, "happy");
  assert.equal(parse({ type: "mood", start: "a", end: "b", frames: 5, faces: 0, scores: null }).scores, null);
  for (const type of ["pong", "paused", "resumed"]) {
    assert.deepEqual(parse({ type }), { type });
  }
  assert.deepEqual(parse({ type: "feedback_saved", id: 3 }), { type: "feedback_saved", id: 3 });
  assert.throws(() => parse({ type: "surprise_party" }), ProtocolError);
  assert.throws(() => parse({ kind: "ready" }), ProtocolError);
  assert.throws(() => parse([1, 2]), ProtocolError);
  assert.throws(() => parseServerMessage("{not json"), ProtocolError);
  assert.throws(() => parseServerMessage(new ArrayBuffer(4)), ProtocolError);
  assert.throws(() => parseServerMessage(`"${"x".repeat(MAX_MESSAGE_CHARS)}"`), ProtocolError);
});

test("close codes: a rejected token means pair again, misbehaviour means wait, the rest reconnect", () => {
  assert.equal(closeAction(4401), "repair");
  assert.equal(closeAction(4403), "repair");
  assert.equal(closeAction(4400), "reconnect_later");
  assert.equal(closeAction(4429), "reconnect_later");
  assert.equal(closeAction(4406), "refused_origin", "the server does not accept this origin: retrying cannot help");
  for (const code of [1000, 1001, 1006, 1011, 4408]) {
    assert.equal(closeAction(code), "reconnect");
  }
});

test("capture settings: validated, and the site's defaults apply unless the user chose", () => {
  assert.deepEqual(validateCapture({ fps: "0.5", width: "320", height: "240" }), { fps: 0.5, width: 320, height: 240 });
  assert.throws(() => validateCapture({ fps: 0.1, width: 320, height: 240 }), /between 0.2 and 2/);
  assert.throws(() => validateCapture({ fps: 3, width: 320, height: 240 }), RangeError);
  assert.throws(() => validateCapture({ fps: "abc", width: 320, height: 240 }), RangeError);
  assert.throws(() => validateCapture({ fps: 1, width: 800, height: 600 }), /320x240 or 640x480/);

  const user = { fps: 2, width: 320, height: 240 };
  const server = { fps: 0.5, width: 640, height: 480 };
  assert.deepEqual(effectiveCapture({}), DEFAULT_CAPTURE);
  assert.deepEqual(effectiveCapture({ user, customized: true, server }), user);
  assert.deepEqual(effectiveCapture({ user, customized: false, server }), server);
  assert.deepEqual(effectiveCapture({ user: null, customized: false, server: null }), DEFAULT_CAPTURE);
  // Never faster than the server allows.
  assert.equal(effectiveCapture({ user, customized: true, maxFps: 1 }).fps, 1);
});

test("the pacer keeps the rate and at most two frames in flight", () => {
  const pacer = new FramePacer({ fps: 1 });
  assert.ok(pacer.ready(0));
  assert.equal(pacer.sentAt(0), 1);
  assert.ok(!pacer.ready(500), "too soon");
  assert.ok(pacer.ready(1000));
  assert.equal(pacer.sentAt(1000), 2);
  assert.ok(!pacer.ready(2000), "two frames unanswered");
  pacer.answered({ type: "result", seq: 1 }, 2000);
  assert.ok(pacer.ready(2000));
});

test("the pacer slows down after rate_limited or busy, and forgets frames never answered", () => {
  const pacer = new FramePacer({ fps: 2 });
  pacer.sentAt(0);
  pacer.answered({ type: "dropped", seq: 1, reason: "busy" }, 100);
  assert.ok(!pacer.ready(600), "half speed for a while");
  assert.ok(pacer.ready(1000));
  assert.ok(pacer.ready(20000), "back to normal later");

  const stuck = new FramePacer({ fps: 2 });
  stuck.sentAt(0);
  stuck.sentAt(500);
  assert.ok(!stuck.ready(1000));
  assert.ok(stuck.ready(25000), "lost answers do not block forever");
  stuck.reset();
  assert.equal(stuck.sentAt(26000), 1, "a new connection numbers frames from 1");
  assert.throws(() => stuck.setRate(0), RangeError);
});

test("the fps range's top comes from the server's ready, not a copy", () => {
  const ready = (capture, maxFps) =>
    parseServerMessage(JSON.stringify({ type: "ready", max_fps: maxFps, max_frame_bytes: 1, window_seconds: 60, capture }));
  const fast = { fps: 1.5, width: 320, height: 240 };
  assert.deepEqual(ready(fast, 2).capture, fast);
  assert.equal(ready(fast, 1).capture, null); // above this server's max_fps: ignored
  assert.deepEqual(validateCapture({ fps: 3, width: 320, height: 240 }, { maxFps: 5 }).fps, 3);
  assert.throws(() => validateCapture({ fps: 1.5, width: 320, height: 240 }, { maxFps: 1 }), /between 0.2 and 1/);
});

test("calibration messages: progress, calibrated, and refusals with known codes only", () => {
  assert.deepEqual(parseServerMessage('{"type":"calibration_progress","seconds_left":12.5,"faces":7}'), {
    type: "calibration_progress",
    secondsLeft: 12.5,
    faces: 7,
  });
  assert.deepEqual(parseServerMessage('{"type":"calibrated","faces":18,"since":"2026-05-04T09:00:00+00:00"}'), {
    type: "calibrated",
    faces: 18,
    since: "2026-05-04T09:00:00+00:00",
  });
  assert.deepEqual(
    parseServerMessage('{"type":"calibration_refused","code":"not_at_rest","message":"Your face did not look at rest."}'),
    { type: "calibration_refused", code: "not_at_rest", message: "Your face did not look at rest." },
  );
  for (const bad of [
    '{"type":"calibration_progress","seconds_left":-1,"faces":0}',
    '{"type":"calibration_progress","seconds_left":3,"faces":1.5}',
    '{"type":"calibrated","faces":0,"since":"x"}',
    '{"type":"calibration_refused","code":"tired","message":"x"}',
    '{"type":"calibration_refused","code":"cancelled","message":""}',
  ]) {
    assert.throws(() => parseServerMessage(bad), ProtocolError, bad);
  }
});

test("a reading too even to name one expression is uncertain", () => {
  const even = Object.fromEntries(EMOTIONS.map((emotion) => [emotion, 1 / 7]));
  assert.equal(isUncertain(even), true);
  assert.equal(isUncertain({ ...even, sad: 0.4 }), false);
  assert.equal(isUncertain(null), true);
});

test("mood windows carry whether they are uncertain and baseline-adjusted", () => {
  const base = { type: "mood", start: "a", end: "b", frames: 5, faces: 2, scores, dominant: "happy" };
  assert.deepEqual(
    [parse({ ...base, uncertain: true, baseline: false }).uncertain, parse(base).uncertain],
    [true, false],
  );
  assert.equal(parse({ ...base, uncertain: false, baseline: true }).baseline, true);
});

test("capture: new defaults saved on the site apply at once unless the user chose their own", () => {
  const message = parse({ type: "capture", fps: 0.5, width: 320, height: 240 });
  assert.deepEqual(message, { type: "capture", capture: { fps: 0.5, width: 320, height: 240 } });
  const ready = parse({ type: "ready", max_fps: 2, max_frame_bytes: 262144, window_seconds: 60 });

  const updated = withServerCapture(ready, message);

  assert.equal(updated.maxFps, 2, "the rest of ready stays");
  assert.deepEqual(effectiveCapture({ server: updated.capture, maxFps: updated.maxFps }), {
    fps: 0.5,
    width: 320,
    height: 240,
  });
  const own = { fps: 2, width: 640, height: 480 };
  assert.deepEqual(effectiveCapture({ user: own, customized: true, server: updated.capture, maxFps: 2 }), own);
  assert.deepEqual(
    effectiveCapture({ server: parse({ type: "capture", fps: 2, width: 640, height: 480 }).capture, maxFps: 1 }),
    { fps: 1, width: 640, height: 480 },
    "still capped by the server's max_fps",
  );
  for (const bad of [{ fps: 0.1, width: 320, height: 240 }, { fps: 1, width: 800, height: 600 }, {}]) {
    assert.throws(() => parse({ type: "capture", ...bad }), ProtocolError);
  }
});

test("private mode: ready's mode and baseline, mode changes, baseline news, summaries saved or refused", () => {
  const ready = { type: "ready", max_fps: 2, max_frame_bytes: 262144, window_seconds: 60 };
  const excess = { excess: { angry: 0, disgust: 0, fear: 0, happy: 0, sad: 1.1, surprise: 0, neutral: 0 } };
  assert.deepEqual(
    [parse({ ...ready, mode: "private", baseline: excess }).mode, parse({ ...ready, mode: "private" }).baseline],
    ["private", null],
  );
  assert.equal(parse({ ...ready, mode: "elsewhere" }).mode, "server");
  assert.deepEqual(parse({ type: "mode", mode: "private", baseline: excess }), {
    type: "mode",
    mode: "private",
    baseline: excess,
  });
  assert.throws(() => parse({ type: "mode", mode: "cloud" }), ProtocolError);
  assert.deepEqual(parse({ type: "baseline", baseline: null }), { type: "baseline", baseline: null });
  const key = "6f1d3c2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f";
  assert.deepEqual(parse({ type: "summary_saved", key }), { type: "summary_saved", key });
  assert.deepEqual(parse({ type: "error", seq: null, code: "window_overlaps", key, detail: "A window..." }), {
    type: "error",
    seq: null,
    code: "window_overlaps",
    key,
    detail: "A window...",
  });
  assert.deepEqual(parse({ type: "error", seq: 3, code: "private_mode" }), { type: "error", seq: 3, code: "private_mode" });
});
