// The person's baseline, applied on this computer in private mode exactly as the server applies it
// (inference/baseline.py `adjust_reading`): the server sends, per emotion, the log-odds the person's
// resting face over-reads (`excess`, docs/protocol.md "Private mode"); a frame's scores are weighted
// by exp(-excess) and renormalised. Pure: checked by node --test against the server's vectors.

import { EMOTIONS } from "./protocol.js";
import { roundScore } from "./windows.js";

/**
 * The server's `baseline` field: null, or {excess: {seven emotions: number >= 0}}.
 * Anything else is refused (null: no baseline applied), so a newer server cannot break the reading.
 */
export function parseBaseline(value) {
  if (value === null || typeof value !== "object" || typeof value.excess !== "object" || value.excess === null) {
    return null;
  }
  const excess = {};
  for (const emotion of EMOTIONS) {
    const number = value.excess[emotion];
    if (typeof number !== "number" || !Number.isFinite(number) || number < 0) {
      return null;
    }
    excess[emotion] = number;
  }
  return { excess };
}

/** One frame's scores as the baseline reads them (rounded to 6 digits); unchanged without a baseline. */
export function adjustScores(scores, baseline) {
  if (!baseline) {
    return { ...scores };
  }
  const weighted = EMOTIONS.map((emotion) => scores[emotion] * Math.exp(-baseline.excess[emotion]));
  const total = weighted.reduce((sum, value) => sum + value, 0);
  const anyExcess = EMOTIONS.some((emotion) => baseline.excess[emotion] !== 0);
  const out = {};
  EMOTIONS.forEach((emotion, index) => {
    out[emotion] = roundScore(anyExcess && total > 0 ? weighted[index] / total : scores[emotion]);
  });
  return out;
}
