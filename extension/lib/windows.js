// Private mode's mood windows, closed on this computer by the server's rules
// (moods/stream/aggregator.py, docs/protocol.md "Private mode"): frame readings in, one
// aggregate per window out, then sent as a `summary`. Counts and sums only, never a frame.
// Pure (no browser APIs): node --test checks it against the same vectors as the server's tests
// (extension/tests/vectors/windows.json).

import { EMOTIONS, MIN_CERTAIN_SCORE } from "./protocol.js";

// A window needs this many frames with a face, and its top mean this much, to say anything.
export const MIN_CERTAIN_FACES = 3;
export const SCORE_DIGITS = 6;
export const SUMMARY_VERSION = 1;
// The server's shortest window is 1 µs; a Date has milliseconds, so 1 ms here.
const MIN_DURATION_MS = 1;

/** Rounded like Python's round(x, 6) (the two differ only on exact decimal ties, which doubles almost never hit). */
export function roundScore(value) {
  return Number(value.toFixed(SCORE_DIGITS));
}

/** "Not sure": too few faces, or no mean expression reaching MIN_CERTAIN_SCORE. */
export function isUncertainWindow({ faces, scores }) {
  return faces < MIN_CERTAIN_FACES || !scores || Math.max(...EMOTIONS.map((e) => scores[e])) < MIN_CERTAIN_SCORE;
}

/** The highest mean; a tie goes to the first emotion in EMOTIONS order. */
export function dominantEmotion(scores) {
  let best = EMOTIONS[0];
  for (const emotion of EMOTIONS) {
    if (scores[emotion] > scores[best]) {
      best = emotion;
    }
  }
  return best;
}

/** Means clamped to [0, 1] (float sums of values up to 1 may overshoot by an ulp), rounded to 6 digits. */
export function meanScores(sums, faces) {
  const means = {};
  for (const emotion of EMOTIONS) {
    means[emotion] = roundScore(Math.min(1, Math.max(0, sums[emotion] / faces)));
  }
  return means;
}

export class WindowAggregator {
  /** @param {{windowSeconds: number}} options */
  constructor({ windowSeconds }) {
    this.lengthMs = windowSeconds * 1000;
    this.start = null; // ms since the epoch, or null before the first frame
    this.reset();
  }

  reset() {
    this.frames = 0;
    this.faces = 0;
    this.sums = Object.fromEntries(EMOTIONS.map((emotion) => [emotion, 0]));
  }

  /** Count one read frame at `at` (ms): its seven scores, or null without a face. */
  add(scores, at) {
    // Read all seven first: scores missing an emotion throw and change nothing.
    const values = scores === null ? null : EMOTIONS.map((emotion) => {
      const value = scores[emotion];
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new TypeError(`scores.${emotion} is missing`);
      }
      return value;
    });
    if (this.start === null) {
      this.start = at;
    }
    this.frames += 1;
    if (values !== null) {
      this.faces += 1;
      EMOTIONS.forEach((emotion, index) => {
        this.sums[emotion] += values[index];
      });
    }
  }

  /** Whether the current window has lasted its full length at `now` (ms). */
  due(now) {
    return this.start !== null && now >= this.start + this.lengthMs;
  }

  /** End the current window at `now`; null when it holds no frame (the next starts with a frame). */
  close(now) {
    const window = this.window(now);
    this.start = window !== null ? now : null;
    this.reset();
    return window;
  }

  /** End the last window (stop, pause): kept only if at least one frame had a face. */
  flush(now) {
    const window = this.window(now);
    this.start = null;
    this.reset();
    return window !== null && window.faces ? window : null;
  }

  window(end) {
    if (this.start === null || !this.frames) {
      return null;
    }
    const scores = this.faces ? meanScores(this.sums, this.faces) : null;
    const window = {
      start: this.start,
      end: Math.max(end, this.start + MIN_DURATION_MS),
      frames: this.frames,
      faces: this.faces,
      scores,
      dominant: scores ? dominantEmotion(scores) : null,
    };
    return { ...window, uncertain: isUncertainWindow(window) };
  }
}

/**
 * The `summary` message for a closed window (only windows with a face are sent).
 * @param {{start: number, end: number, frames: number, faces: number, scores: object, uncertain: boolean}} window
 * @param {{key: string, baseline: boolean}} options  key: a random UUID; baseline: whether it adjusted the frames
 */
export function summaryMessage(window, { key, baseline }) {
  return {
    type: "summary",
    v: SUMMARY_VERSION,
    key,
    start: new Date(window.start).toISOString(),
    end: new Date(window.end).toISOString(),
    frames: window.frames,
    faces: window.faces,
    scores: window.scores,
    uncertain: window.uncertain,
    baseline,
  };
}
