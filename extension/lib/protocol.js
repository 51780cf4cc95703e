// Stream protocol v1 (docs/protocol.md), as its clients speak it: parsing what the server
// sends, deciding what a close code means, and pacing frames. One client serves both the
// extension (which imports it) and the website's live check-in (static/js/live.js loads it as
// /static/extension-lib/protocol.js, a static finder path onto extension/lib/). An ES module
// with no browser APIs, so that node --test can check every rule.

export const EMOTIONS = Object.freeze(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]);

// Bigger messages are not ours: the server's largest (encourage with resources) is a few KiB.
export const MAX_MESSAGE_CHARS = 65536;

export const CLOSE_BAD_TOKEN = 4401;
export const CLOSE_REVOKED = 4403;
// The page's (or the extension's) origin is not one the server accepts: retrying cannot help.
export const CLOSE_ORIGIN_REFUSED = 4406;

const DROP_REASONS = new Set(["rate_limited", "busy", "paused", "unavailable"]);
const ERROR_CODES = new Set(["invalid_image", "frame_too_large", "image_too_large", "bad_message", "private_mode"]);
// A refused summary (private mode, docs/protocol.md): what to do with the window it carried.
export const SUMMARY_ERRORS = Object.freeze({
  not_private_mode: "keep",
  summary_rate_limited: "keep",
  unavailable: "keep",
  already_stored: "saved",
  unsupported_version: "drop",
  bad_summary: "drop",
  bad_scores: "drop",
  impossible_window: "drop",
  window_in_future: "drop",
  window_too_old: "drop",
  window_overlaps: "drop",
});
const MODES = new Set(["server", "private"]);
const SIMPLE_TYPES = new Set(["pong", "paused", "resumed"]);
const CALIBRATION_REFUSALS = new Set(["too_few_faces", "not_at_rest", "cancelled"]);
// A reading whose top score is under this is "not sure" (the server's windows use the same bar).
export const MIN_CERTAIN_SCORE = 0.4;

/** Whether a face's scores are too even to name one expression. */
export function isUncertain(scores) {
  return !scores || Math.max(...EMOTIONS.map((emotion) => scores[emotion] ?? 0)) < MIN_CERTAIN_SCORE;
}

export class ProtocolError extends Error {}

const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
const isCount = (value) => Number.isInteger(value) && value >= 0;
const isSeq = (value) => Number.isInteger(value) && value >= 1;
const isPositive = (value) => typeof value === "number" && Number.isFinite(value) && value > 0;

function need(condition, what) {
  if (!condition) {
    throw new ProtocolError(what);
  }
}

/** Seven scores in [0, 1], keyed by EMOTIONS; a copy in EMOTIONS order. */
export function parseScores(value) {
  need(isObject(value), "scores must be an object");
  const scores = {};
  for (const emotion of EMOTIONS) {
    const score = value[emotion];
    need(typeof score === "number" && score >= 0 && score <= 1, `scores.${emotion} must be a number in [0, 1]`);
    scores[emotion] = score;
  }
  return scores;
}

function parseCapture(value, maxFps) {
  // Optional: the user's capture defaults from the site. Anything out of range (the server's
  // own max_fps is the top) is ignored rather than fatal, so a newer server cannot break an
  // older extension.
  if (!isObject(value)) {
    return null;
  }
  const { fps, width, height } = value;
  const fpsOk = typeof fps === "number" && fps >= MIN_FPS && fps <= maxFps;
  const sizeOk = RESOLUTIONS.some((r) => r.width === width && r.height === height);
  return fpsOk && sizeOk ? { fps, width, height } : null;
}

function parseResources(value) {
  if (value === undefined) {
    return [];
  }
  need(Array.isArray(value), "resources must be a list");
  return value
    .filter((item) => isObject(item) && typeof item.name === "string")
    .map((item) => ({
      name: item.name,
      contact: typeof item.contact === "string" ? item.contact : "",
      // Only web links open in a tab; anything else (javascript:, data:) is dropped.
      url: typeof item.url === "string" && /^https?:\/\//i.test(item.url) ? item.url : "",
    }));
}

/**
 * One text message from the server, checked field by field.
 * @param {string} text
 * @returns {object} the message with its known fields only
 * @throws {ProtocolError} when it is not a message of protocol v1
 */
export function parseServerMessage(text) {
  need(typeof text === "string", "the server sends text messages only");
  need(text.length <= MAX_MESSAGE_CHARS, "message too long");
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ProtocolError("not JSON");
  }
  need(isObject(data) && typeof data.type === "string", "not a typed JSON object");
  const { type } = data;
  switch (type) {
    case "ready": {
      need(isPositive(data.max_fps), "ready.max_fps must be a positive number");
      need(isPositive(data.max_frame_bytes), "ready.max_frame_bytes must be a positive number");
      need(isPositive(data.window_seconds), "ready.window_seconds must be a positive number");
      return {
        type,
        maxFps: data.max_fps,
        maxFrameBytes: data.max_frame_bytes,
        windowSeconds: data.window_seconds,
        capture: parseCapture(data.capture, data.max_fps),
        // Where this device's frames are read; an older server says nothing: the server.
        mode: data.mode === "private" ? "private" : "server",
        baseline: data.baseline ?? null, // private mode: checked by lib/baseline.js parseBaseline
      };
    }
    case "result": {
      need(isSeq(data.seq), "result.seq must be a positive integer");
      need(typeof data.face === "boolean", "result.face must be a boolean");
      const latencyMs = typeof data.latency_ms === "number" ? data.latency_ms : null;
      if (!data.face) {
        return { type, seq: data.seq, face: false, scores: null, dominant: null, latencyMs };
      }
      const scores = parseScores(data.scores);
      need(EMOTIONS.includes(data.dominant), "result.dominant must be an emotion");
      return { type, seq: data.seq, face: true, scores, dominant: data.dominant, latencyMs };
    }
    case "dropped":
      need(isSeq(data.seq), "dropped.seq must be a positive integer");
      need(DROP_REASONS.has(data.reason), "dropped.reason is unknown");
      return { type, seq: data.seq, reason: data.reason };
    case "error":
      need(data.seq === null || isSeq(data.seq), "error.seq must be a positive integer or null");
      if (data.code in SUMMARY_ERRORS) {
        return {
          type,
          seq: null,
          code: data.code,
          key: typeof data.key === "string" ? data.key : null,
          detail: typeof data.detail === "string" ? data.detail : "",
        };
      }
      need(ERROR_CODES.has(data.code), "error.code is unknown");
      return { type, seq: data.seq, code: data.code };
    case "mode":
      need(MODES.has(data.mode), "mode.mode must be server or private");
      return { type, mode: data.mode, baseline: data.baseline ?? null };
    case "baseline":
      return { type, baseline: data.baseline ?? null };
    case "summary_saved":
      need(typeof data.key === "string" && data.key.length <= 36, "summary_saved.key must be a key");
      return { type, key: data.key };
    case "mood":
      need(typeof data.start === "string" && typeof data.end === "string", "mood needs start and end");
      need(isCount(data.frames) && isCount(data.faces), "mood needs frames and faces counts");
      return {
        type,
        start: data.start,
        end: data.end,
        frames: data.frames,
        faces: data.faces,
        scores: data.scores === null ? null : parseScores(data.scores),
        dominant: EMOTIONS.includes(data.dominant) ? data.dominant : null,
        uncertain: data.uncertain === true,
        baseline: data.baseline === true,
      };
    case "encourage":
      need(Number.isInteger(data.id) && data.id > 0, "encourage.id must be a positive integer");
      need(typeof data.message === "string" && data.message.length > 0, "encourage.message must be text");
      return { type, id: data.id, message: data.message, resources: parseResources(data.resources) };
    case "feedback_saved":
      need(Number.isInteger(data.id), "feedback_saved.id must be an integer");
      return { type, id: data.id };
    case "calibration_progress":
      need(typeof data.seconds_left === "number" && data.seconds_left >= 0, "calibration_progress.seconds_left");
      need(isCount(data.faces), "calibration_progress.faces must be a count");
      return { type, secondsLeft: data.seconds_left, faces: data.faces };
    case "calibrated":
      need(isCount(data.faces) && data.faces > 0, "calibrated.faces must be a positive count");
      need(typeof data.since === "string", "calibrated.since must be a time");
      return { type, faces: data.faces, since: data.since };
    case "capture": {
      // The user saved new capture defaults on the site; the rate is capped by ready's max_fps later.
      const capture = parseCapture(data, Number.POSITIVE_INFINITY);
      need(capture !== null, "capture needs fps (at least 0.2) and a resolution of 320x240 or 640x480");
      return { type, capture };
    }
    case "calibration_refused":
      need(CALIBRATION_REFUSALS.has(data.code), "calibration_refused.code is unknown");
      need(typeof data.message === "string" && data.message.length > 0, "calibration_refused.message must be text");
      return { type, code: data.code, message: data.message };
    default:
      need(SIMPLE_TYPES.has(type), `unknown message type ${JSON.stringify(type).slice(0, 40)}`);
      return { type };
  }
}

/**
 * What a closed socket means for the client.
 * @returns {"repair"|"refused_origin"|"reconnect"|"reconnect_later"} repair: the token is no
 *   good, pair again; refused_origin: the server does not accept this origin, stop and say so;
 *   reconnect: back off and try again; reconnect_later: the server refused our behaviour,
 *   wait at least a minute (its counters span 60 s).
 */
export function closeAction(code) {
  if (code === CLOSE_BAD_TOKEN || code === CLOSE_REVOKED) {
    return "repair";
  }
  if (code === CLOSE_ORIGIN_REFUSED) {
    return "refused_origin";
  }
  if (code === 4400 || code === 4429) {
    return "reconnect_later";
  }
  return "reconnect";
}

/**
 * Frames per second and resolution the user may choose. The top rate is the server's: every
 * `ready` announces `max_fps`, and the extension keeps the last one (`serverMaxFps`);
 * FALLBACK_MAX_FPS only bounds a choice made before the first connection.
 */
export const MIN_FPS = 0.2;
export const FALLBACK_MAX_FPS = 2;
export const DEFAULT_FPS = 1;
export const RESOLUTIONS = Object.freeze([
  Object.freeze({ width: 320, height: 240 }),
  Object.freeze({ width: 640, height: 480 }),
]);
export const DEFAULT_CAPTURE = Object.freeze({ fps: DEFAULT_FPS, width: 640, height: 480 });

/** The capture settings a form or storage gave, checked; throws RangeError with a sentence. */
export function validateCapture({ fps, width, height }, { maxFps = FALLBACK_MAX_FPS } = {}) {
  const rate = Number(fps);
  if (!Number.isFinite(rate) || rate < MIN_FPS || rate > maxFps) {
    throw new RangeError(`Frames per second must be between ${MIN_FPS} and ${maxFps}.`);
  }
  const size = RESOLUTIONS.find((r) => r.width === Number(width) && r.height === Number(height));
  if (!size) {
    throw new RangeError("The resolution must be 320x240 or 640x480.");
  }
  return { fps: rate, width: size.width, height: size.height };
}

/**
 * The capture settings in force: the user's own if they changed them in the options page,
 * else the site's defaults from `ready.capture`, else the built-in ones; the rate never above
 * the server's `max_fps`.
 */
export function effectiveCapture({ user = null, customized = false, server = null, maxFps = FALLBACK_MAX_FPS } = {}) {
  const chosen = (customized && user) || server || user || DEFAULT_CAPTURE;
  return { ...chosen, fps: Math.min(chosen.fps, maxFps) };
}

/** The last `ready` with the capture defaults of a later `capture` message (the user saved new ones on the site). */
export function withServerCapture(ready, message) {
  return { ...ready, capture: message.capture };
}

/**
 * Paces frames: at most `fps` per second, at most `maxInFlight` unanswered frames, and a
 * slower pace for a while after the server says `rate_limited` or `busy`. Time comes in as
 * arguments (milliseconds), so the rules are testable without a clock.
 */
export class FramePacer {
  constructor({ fps, maxInFlight = 2 }) {
    this.setRate(fps);
    this.maxInFlight = maxInFlight;
    this.inFlight = new Map(); // seq -> when it was sent
    // The server answers every frame within 15 s (then "unavailable"); past this, stop waiting.
    this.answerTimeoutMs = 20000;
    this.sent = 0; // the server numbers binary messages from 1; so do we
    this.lastSentAt = -Infinity;
    this.slowUntil = -Infinity;
  }

  setRate(fps) {
    if (!(fps > 0)) {
      throw new RangeError(`fps must be positive, got ${fps}`);
    }
    this.intervalMs = 1000 / fps;
  }

  /** Whether a frame may be sent at `now`. */
  ready(now) {
    for (const [seq, sentAt] of this.inFlight) {
      if (now - sentAt > this.answerTimeoutMs) {
        this.inFlight.delete(seq);
      }
    }
    if (this.inFlight.size >= this.maxInFlight) {
      return false;
    }
    // Twice the interval while the server is shedding load.
    const interval = now < this.slowUntil ? this.intervalMs * 2 : this.intervalMs;
    // A little slack: timers fire late more often than early.
    return now - this.lastSentAt >= interval * 0.95;
  }

  /** Note a frame sent at `now`; returns its seq. */
  sentAt(now) {
    this.sent += 1;
    this.lastSentAt = now;
    this.inFlight.set(this.sent, now);
    return this.sent;
  }

  /** Note the server's message about a frame (result, dropped, error); `now` for slow-downs. */
  answered(message, now) {
    if (message.seq == null) {
      return;
    }
    this.inFlight.delete(message.seq);
    if (message.type === "dropped" && (message.reason === "rate_limited" || message.reason === "busy")) {
      this.slowUntil = now + 10000;
    }
  }

  /** Frames whose answer may never come (the connection closed) no longer count. */
  reset() {
    this.inFlight.clear();
    this.sent = 0;
  }
}
