// The offscreen document: owns the camera and the WebSocket to /ws/stream/ (protocol v1).
// In server mode frames are drawn to a canvas, encoded as JPEG and sent; none is kept. In private
// mode (docs/protocol.md) they are read here (lib/reader.js: the server's models through LiteRT.js),
// adjusted by the person's baseline, aggregated into windows by the server's rules
// (lib/windows.js), and only each closed window's summary is sent; no frame leaves this document.
// What happens is reported to the service worker, which keeps the state the popup shows.

import { Backoff } from "./lib/backoff.js";
import { adjustScores, parseBaseline } from "./lib/baseline.js";
import { decodedSize, grayFromRGBA } from "./lib/faces.js";
import {
  closeAction,
  EMOTIONS,
  effectiveCapture,
  FramePacer,
  parseServerMessage,
  ProtocolError,
  SUMMARY_ERRORS,
  withServerCapture,
} from "./lib/protocol.js";
import { summaryMessage, WindowAggregator } from "./lib/windows.js";

const PING_EVERY_MS = 20000;
// No message at all for this long (pings are answered) means the connection is dead.
const SILENCE_LIMIT_MS = 45000;
const TICK_MS = 100;
const JPEG_QUALITIES = [0.8, 0.65, 0.5];
// 4400/4429: the server counts errors and rate-limited frames over 60 s; wait them out.
const LATER_MS = 60000;
// Private mode (docs/protocol.md): the server refuses this device's frames. Reading on this
// computer is not in this version yet, so the camera stays off and the popup says why.
// Closed windows kept until the server says it stored them (or refused them for good).
const MAX_OUTBOX = 120;
const RESEND_MS = 60000;
const TOO_FEW_FACES = "Too few frames showed a face. Sit facing the camera in good light, then calibrate again.";
const CANCELLED = "Calibration cancelled. Your earlier baseline, if any, is still in use.";

const video = document.getElementById("video");
const canvas = document.getElementById("canvas");
const context = canvas.getContext("2d", { willReadFrequently: false });
// Private mode reads frames at the size the server would decode them, from its own canvas.
const readCanvas = document.createElement("canvas");
const readContext = readCanvas.getContext("2d", { willReadFrequently: true });
let reader = null; // Promise<FaceReader>, loaded once, on the first private-mode frame
let aggregator = null; // WindowAggregator while reading in private mode
let baseline = null; // {excess} from the server, applied to every frame before aggregation
let baselineApplied = false; // whether it adjusted a frame of the open window
const outbox = new Map(); // key -> summary message, until summary_saved
// A calibration read here: the frames' raw scores until `until`, then sent as calibrate_faces.
let calibrating = null; // {until, seconds, faces: number[][]}
let resendTimer = null;

let config = null; // {streamUrl, token, capture, customized, paused}
let socket = null;
let ready = null; // the server's ready message on the current socket
let camera = null; // MediaStream while the camera is on
let pacer = null;
let ticker = null;
let encoding = false;
let quality = 0;
let reconnectTimer = null;
let pingTimer = null;
let lastHeard = 0;
const backoff = new Backoff();
let status = { connection: "idle", camera: false, paused: false, detail: "" };
// Feedback pressed while the socket was down: sent once the next socket is ready.
let pendingFeedback = [];

function tellBackground(message) {
  return chrome.runtime.sendMessage({ ...message, target: "background" }).catch((error) => {
    // The service worker may be restarting; status is re-sent on the next change.
    console.warn("S.M.I.L.E offscreen: background unreachable", error);
  });
}

function report(changes) {
  status = { ...status, ...changes };
  tellBackground({ type: "status", status });
}

// --- The camera -----------------------------------------------------------------------------

async function startCamera(capture) {
  if (camera) {
    return;
  }
  camera = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { width: { ideal: capture.width }, height: { ideal: capture.height } },
  });
  video.srcObject = camera;
  // Autoplay alone gave black frames: the video must be told to play.
  await video.play();
  canvas.width = capture.width;
  canvas.height = capture.height;
  report({ camera: true });
}

function stopCamera() {
  if (camera) {
    for (const track of camera.getTracks()) {
      track.stop();
    }
  }
  camera = null;
  video.pause();
  video.srcObject = null;
  if (status.camera) {
    report({ camera: false });
  }
}

function stopTicker() {
  clearInterval(ticker);
  ticker = null;
}

function startTicker() {
  if (!ticker) {
    ticker = setInterval(() => {
      tick().catch((error) => console.error("S.M.I.L.E frame:", error));
    }, TICK_MS);
  }
}

async function tick() {
  const now = performance.now();
  if (encoding || !camera || !ready || config?.paused) {
    return;
  }
  if (ready.mode === "private") {
    await readHere(now);
    return;
  }
  if (socket?.readyState !== WebSocket.OPEN) {
    return;
  }
  if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || !pacer.ready(now)) {
    return;
  }
  encoding = true;
  try {
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITIES[quality]));
    if (!blob) {
      return;
    }
    if (blob.size > ready.maxFrameBytes) {
      // Too big to be accepted: try a lower quality next time rather than send it.
      quality = Math.min(quality + 1, JPEG_QUALITIES.length - 1);
      return;
    }
    const bytes = await blob.arrayBuffer();
    if (socket?.readyState === WebSocket.OPEN && ready) {
      socket.send(bytes);
      pacer.sentAt(performance.now());
    }
  } finally {
    encoding = false;
  }
}

// --- Private mode: reading here, sending windows -------------------------------------------

async function loadReader() {
  if (!reader) {
    const { FaceReader } = await import("./lib/reader.js");
    reader = FaceReader.create(chrome.runtime.getURL("/")).catch((error) => {
      reader = null;
      throw error;
    });
  }
  return reader;
}

/** Read one frame on this computer (at most the capture rate): no frame is sent anywhere. */
async function readHere(now) {
  closeDueWindow();
  if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || !pacer.ready(now)) {
    return;
  }
  encoding = true;
  try {
    const faceReader = await loadReader();
    const { width, height } = decodedSize(video.videoWidth || canvas.width, video.videoHeight || canvas.height);
    if (readCanvas.width !== width || readCanvas.height !== height) {
      readCanvas.width = width;
      readCanvas.height = height;
    }
    readContext.drawImage(video, 0, 0, width, height);
    const gray = grayFromRGBA(readContext.getImageData(0, 0, width, height).data, width, height);
    const seq = pacer.sentAt(performance.now());
    const started = performance.now();
    const reading = await faceReader.read(gray, width, height);
    pacer.answered({ seq }, performance.now());
    if (!ready || ready.mode !== "private" || config?.paused) {
      return; // switched or paused while reading: the frame counts nowhere
    }
    if (calibrating && reading.face) {
      calibrating.faces.push(EMOTIONS.map((emotion) => Number(reading.scores[emotion].toFixed(4))));
      tellBackground({
        type: "calibration",
        calibration: {
          type: "calibration_progress",
          secondsLeft: Math.max(0, (calibrating.until - Date.now()) / 1000),
          faces: calibrating.faces.length,
          at: Date.now(),
        },
      });
    }
    let scores = null;
    if (reading.face) {
      scores = adjustScores(reading.scores, baseline);
      baselineApplied ||= baseline !== null;
    }
    aggregator ??= new WindowAggregator({ windowSeconds: ready.windowSeconds });
    aggregator.add(scores, Date.now());
    const dominant = scores ? Object.keys(scores).reduce((a, b) => (scores[b] > scores[a] ? b : a)) : null;
    tellBackground({
      type: "result",
      result: { face: reading.face, dominant, scores, at: Date.now(), latencyMs: performance.now() - started },
    });
  } catch (error) {
    report({ connection: "error", detail: `This computer could not read the frame (${error.message}).` });
    throw error;
  } finally {
    encoding = false;
  }
}

function closeDueWindow() {
  if (calibrating && Date.now() >= calibrating.until) {
    // The server judges it as its own calibration would (too few faces, not at rest, or a baseline).
    const most = Math.floor(ready.maxFps * calibrating.seconds) + Math.max(1, Math.ceil(ready.maxFps));
    const faces = calibrating.faces.slice(-most);
    calibrating = null;
    if (socket?.readyState === WebSocket.OPEN && faces.length) {
      socket.send(JSON.stringify({ type: "calibrate_faces", faces }));
    } else {
      tellBackground({
        type: "calibration",
        calibration: { type: "calibration_refused", code: "too_few_faces", message: TOO_FEW_FACES, at: Date.now() },
      });
    }
  }
  if (aggregator?.due(Date.now())) {
    queueWindow(aggregator.close(Date.now()));
  }
}

/** End the open window early (pause, stop, a switch to server mode): kept only with a face. */
function flushWindow() {
  if (aggregator) {
    queueWindow(aggregator.flush(Date.now()));
    aggregator = null;
  }
}

function queueWindow(window) {
  const applied = baselineApplied;
  baselineApplied = false;
  if (!window || !window.faces) {
    return; // a window without a face is never stored: nothing to send
  }
  const summary = summaryMessage(window, { key: crypto.randomUUID(), baseline: applied });
  outbox.set(summary.key, summary);
  while (outbox.size > MAX_OUTBOX) {
    outbox.delete(outbox.keys().next().value);
  }
  sendOutbox();
}

function sendOutbox() {
  if (socket?.readyState !== WebSocket.OPEN || !ready || ready.mode !== "private") {
    return;
  }
  for (const summary of outbox.values()) {
    socket.send(JSON.stringify(summary));
  }
}

function onSummaryAnswer(key, code) {
  // Saved, or refused for good: forget it. Refused for now (busy, rate, mode): sent again later.
  const action = code === undefined ? "saved" : SUMMARY_ERRORS[code];
  if (action !== "keep") {
    outbox.delete(key);
  } else if (!resendTimer) {
    resendTimer = setTimeout(() => {
      resendTimer = null;
      sendOutbox();
    }, RESEND_MS);
  }
}

// --- The socket -----------------------------------------------------------------------------

function clearTimers() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  clearInterval(pingTimer);
  pingTimer = null;
}

function dropSocket() {
  if (socket) {
    const old = socket;
    socket = null;
    old.onopen = old.onmessage = old.onclose = old.onerror = null;
    if (old.readyState === WebSocket.OPEN || old.readyState === WebSocket.CONNECTING) {
      old.close(1000);
    }
  }
  ready = null;
}

function connect() {
  clearTimers();
  dropSocket();
  if (!config) {
    return;
  }
  report({ connection: status.connection === "reconnecting" ? "reconnecting" : "connecting" });
  const ws = new WebSocket(config.streamUrl);
  ws.binaryType = "arraybuffer";
  socket = ws;
  ws.onopen = () => {
    // First-message auth: the token never goes in the URL.
    ws.send(JSON.stringify({ type: "auth", token: config.token }));
    lastHeard = Date.now();
  };
  ws.onmessage = (event) => {
    lastHeard = Date.now();
    onServerMessage(event.data).catch((error) => console.error("S.M.I.L.E message:", error));
  };
  ws.onclose = (event) => onClosed(event.code);
  pingTimer = setInterval(() => {
    if (Date.now() - lastHeard > SILENCE_LIMIT_MS) {
      onClosed(1006); // silent too long: treat as lost
    } else if (ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: "ping" }));
    }
  }, PING_EVERY_MS);
}

async function onServerMessage(data) {
  let message;
  try {
    message = parseServerMessage(data);
  } catch (error) {
    if (error instanceof ProtocolError) {
      console.warn("S.M.I.L.E: ignored a message that is not protocol v1:", error.message);
      return;
    }
    throw error;
  }
  switch (message.type) {
    case "ready":
      await onReady(message);
      break;
    case "result":
      pacer?.answered(message, performance.now());
      tellBackground({
        type: "result",
        result: { face: message.face, dominant: message.dominant, scores: message.scores, at: Date.now() },
      });
      break;
    case "summary_saved":
      onSummaryAnswer(message.key);
      break;
    case "dropped":
    case "error":
      if (message.type === "error" && message.code in SUMMARY_ERRORS) {
        if (message.key) {
          onSummaryAnswer(message.key, message.code);
        }
        break;
      }
      pacer?.answered(message, performance.now());
      if (message.type === "error" && (message.code === "frame_too_large" || message.code === "image_too_large")) {
        quality = Math.min(quality + 1, JPEG_QUALITIES.length - 1);
      }
      break;
    case "encourage":
      tellBackground({ type: "encourage", encourage: message });
      break;
    case "capture":
      // New defaults saved on the site: applied now, without reconnecting (unless the user chose their own).
      if (ready) {
        ready = withServerCapture(ready, message);
        tellBackground({ type: "ready", serverCapture: ready.capture, maxFps: ready.maxFps });
        await applyCapture();
      }
      break;
    case "feedback_saved":
      tellBackground({ type: "feedback_saved", id: message.id });
      break;
    case "calibration_progress":
      if (ready?.mode === "private" && !calibrating && message.faces === 0) {
        // Private mode: the server says how long; the frames are read and collected here.
        calibrating = { until: Date.now() + message.secondsLeft * 1000, seconds: message.secondsLeft, faces: [] };
      }
      tellBackground({ type: "calibration", calibration: { ...message, at: Date.now() } });
      break;
    case "calibrated":
    case "calibration_refused":
      tellBackground({ type: "calibration", calibration: { ...message, at: Date.now() } });
      break;
    case "mood":
      tellBackground({ type: "mood", mood: { start: message.start, end: message.end, dominant: message.dominant } });
      break;
    case "mode":
      if (ready) {
        if (message.mode !== "private") {
          flushWindow();
        }
        ready = { ...ready, mode: message.mode };
        baseline = parseBaseline(message.baseline);
        pacer?.reset();
        tellBackground({ type: "mode", mode: message.mode });
        sendOutbox();
      }
      break;
    case "baseline":
      baseline = parseBaseline(message.baseline);
      break;
    default:
      break; // pong, paused, resumed: nothing to do beyond having heard from the server
  }
}

async function onReady(message) {
  ready = message;
  baseline = parseBaseline(message.baseline);
  backoff.reset();
  tellBackground({ type: "ready", serverCapture: message.capture, maxFps: message.maxFps, mode: message.mode });
  await applyCapture();
  report({ connection: "live", detail: "", paused: Boolean(config.paused) });
  if (config.paused) {
    socket.send(JSON.stringify({ type: "pause" }));
  }
  for (const feedback of pendingFeedback.splice(0)) {
    sendFeedback(feedback);
  }
  sendOutbox(); // windows closed while the server was unreachable
}

function sendFeedback({ id, helpful }) {
  if (socket?.readyState === WebSocket.OPEN && ready) {
    socket.send(JSON.stringify({ type: "feedback", id, helpful }));
  } else if (pendingFeedback.length < 20) {
    pendingFeedback.push({ id, helpful });
  }
}

/** Start or restart the camera with the settings in force now. */
async function applyCapture() {
  if (!ready || !config) {
    return;
  }
  const capture = effectiveCapture({
    user: config.capture,
    customized: config.customized,
    server: ready.capture,
    maxFps: ready.maxFps,
  });
  if (!pacer) {
    pacer = new FramePacer({ fps: capture.fps });
  }
  pacer.setRate(capture.fps);
  const sizeChanged = camera && (canvas.width !== capture.width || canvas.height !== capture.height);
  if (sizeChanged) {
    stopCamera();
  }
  if (config.paused) {
    stopCamera();
    return;
  }
  try {
    await startCamera(capture);
    startTicker();
  } catch (error) {
    report({
      connection: "error",
      detail: `The camera could not start (${error.name}). Allow camera access on the options page.`,
    });
    stop();
  }
}

function onClosed(code) {
  flushWindow(); // kept in the outbox, sent once the next socket is ready
  stopTicker();
  stopCamera();
  dropSocket();
  clearTimers();
  pacer?.reset();
  if (!config) {
    return;
  }
  const action = closeAction(code);
  if (action === "repair") {
    tellBackground({ type: "token_rejected", code });
    stop();
    return;
  }
  if (action === "refused_origin") {
    stop();
    report({
      connection: "error",
      detail: "The server does not accept this extension (its id is not in the server's SMILE_EXTENSION_IDS).",
    });
    return;
  }
  const delay = action === "reconnect_later" ? Math.max(LATER_MS, backoff.next()) : backoff.next();
  report({ connection: "reconnecting", detail: `Connection lost. Reconnecting in ${Math.ceil(delay / 1000)} s…` });
  reconnectTimer = setTimeout(connect, delay);
}

// --- Commands from the service worker ------------------------------------------------------

function configure(next) {
  const previous = config;
  config = next;
  if (!config) {
    stop();
    return;
  }
  const sameServer = previous && previous.streamUrl === config.streamUrl && previous.token === config.token;
  if (sameServer && socket) {
    applyCapture().catch((error) => console.error("S.M.I.L.E capture:", error));
  } else {
    backoff.reset();
    connect();
  }
}

function stop() {
  flushWindow(); // sent now if the socket is open; otherwise lost with this document
  config = null;
  stopTicker();
  stopCamera();
  clearTimers();
  dropSocket();
  pacer = null;
  report({ connection: "idle", camera: false, paused: false, detail: "" });
}

function setPaused(paused) {
  if (!config) {
    return;
  }
  config = { ...config, paused };
  if (paused) {
    flushWindow();
  }
  if (socket?.readyState === WebSocket.OPEN && ready) {
    socket.send(JSON.stringify({ type: paused ? "pause" : "resume" }));
  }
  report({ paused });
  applyCapture().catch((error) => console.error("S.M.I.L.E capture:", error));
}

chrome.runtime.onMessage.addListener((message) => {
  if (message?.target !== "offscreen") {
    return false;
  }
  switch (message.type) {
    case "configure":
      configure(message.config);
      break;
    case "stop":
      stop();
      break;
    case "pause":
    case "resume":
      setPaused(message.type === "pause");
      break;
    case "feedback":
      sendFeedback({ id: message.id, helpful: message.helpful });
      break;
    case "calibrate_start":
    case "calibrate_cancel":
      if (ready?.mode === "private") {
        calibrating = null; // a new start begins afresh when the server answers; a cancel ends it here
        if (message.type === "calibrate_cancel") {
          tellBackground({
            type: "calibration",
            calibration: { type: "calibration_refused", code: "cancelled", message: CANCELLED, at: Date.now() },
          });
          break;
        }
      }
      if (socket?.readyState === WebSocket.OPEN && ready) {
        socket.send(JSON.stringify({ type: message.type }));
      }
      break;
    default:
      break;
  }
  return false;
});

// A new document asks what to do.
tellBackground({ type: "get_config" }).then((next) => configure(next ?? null));
