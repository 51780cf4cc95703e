// Where the extension keeps things, and the shape of the messages between its parts.
//
// chrome.storage.local (survives restarts): server, token, deviceId, deviceName, capture,
//   captureCustomized, wantCapture (the user pressed Start and not Stop), pairingProblem,
//   mode (where this device's frames are read: "server" or "private", as the server last said).
// chrome.storage.session (this browser session): status, latest, serverCapture, encouragements.
//
// Messages carry `target`: "background" (the service worker) or "offscreen" (the document
// that owns the camera and the socket), so each listener ignores what is not for it.

import { isUncertain } from "./protocol.js";

export const LOCAL_DEFAULTS = Object.freeze({
  server: "http://127.0.0.1:8000",
  token: null,
  deviceId: null,
  deviceName: "",
  capture: null,
  captureCustomized: false,
  wantCapture: false,
  pairingProblem: null,
  mode: "server",
});

export const IDLE_STATUS = Object.freeze({ connection: "idle", camera: false, paused: false, detail: "" });

/** Where the popup says the face is read. */
export function describeMode(mode) {
  return mode === "private"
    ? "Read on this computer (private): only each minute's summary is sent."
    : "Read on the S.M.I.L.E server: frames are sent, read and forgotten.";
}

/** A sentence for the popup and options page, from the status the offscreen document reports. */
export function describeStatus(status, { paired }) {
  if (!paired) {
    return "Not paired. Open the options to pair this browser with your account.";
  }
  switch (status?.connection) {
    case "connecting":
      return "Connecting to the server…";
    case "live":
      if (status.detail) {
        return status.detail; // connected, but not reading (private mode in a version that cannot)
      }
      return status.paused ? "Paused: the camera is off." : "Live: reading your expression.";
    case "reconnecting":
      return status.detail || "Connection lost. Reconnecting…";
    case "error":
      return status.detail || "Something went wrong.";
    default:
      return "Stopped. Press Start to begin.";
  }
}

/**
 * What the popup's "Right now" shows. A reading is only shown while capture runs and is not
 * paused: a paused or stopped camera has no expression "right now", whatever was read last.
 */
export function readingToShow({ running, paused, latest }) {
  if (!running) {
    return { text: "The camera is off.", scores: null };
  }
  if (paused) {
    return { text: "Paused: no reading while the camera is off.", scores: null };
  }
  if (!latest) {
    return { text: "No reading yet.", scores: null };
  }
  if (!latest.face) {
    return { text: "No face in view.", scores: null };
  }
  // Too even to name one expression: say so instead of forcing a label.
  const text = isUncertain(latest.scores) ? `Not sure (closest: ${latest.dominant})` : `Mostly ${latest.dominant}`;
  return { text, scores: latest.scores };
}

/** Whether a storage change means a mood window was stored, so today's summary is out of date. */
export function summaryIsStale(changes, area) {
  return area === "session" && "lastWindow" in changes;
}
