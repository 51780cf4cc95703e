// The options page: server address, pairing (RFC 8628 device flow), camera permission, capture.

import { LOCAL_DEFAULTS } from "./lib/state.js";
import {
  defaultDeviceName,
  interpretTokenAnswer,
  parseServerUrl,
  parseStartAnswer,
  ServerUrlError,
} from "./lib/pairing.js";
import { DEFAULT_CAPTURE, FALLBACK_MAX_FPS, validateCapture } from "./lib/protocol.js";

const $ = (id) => document.getElementById(id);
const REQUEST_TIMEOUT_MS = 15000;

let pairing = null; // {cancelled: boolean} while a device flow runs

async function local() {
  return { ...LOCAL_DEFAULTS, ...(await chrome.storage.local.get(Object.keys(LOCAL_DEFAULTS))) };
}

function tellBackground(message) {
  return chrome.runtime.sendMessage({ ...message, target: "background" });
}

function show(id, text) {
  $(id).textContent = text;
}

// --- Server ----------------------------------------------------------------------------------

async function saveServer(event) {
  event.preventDefault();
  show("server-message", "");
  let server;
  try {
    server = parseServerUrl($("server").value);
  } catch (error) {
    if (error instanceof ServerUrlError) {
      show("server-message", error.message);
      return;
    }
    throw error;
  }
  // Host access only for the server the user chose (asked now, while the click counts).
  const granted =
    (await chrome.permissions.contains({ origins: [server.permission] })) ||
    (await chrome.permissions.request({ origins: [server.permission] }));
  if (!granted) {
    show("server-message", `Without access to ${server.origin} the extension cannot reach your server.`);
    return;
  }
  const state = await local();
  if (state.server !== server.origin) {
    cancelPairing();
    await tellBackground({ type: "unpair" });
    await chrome.storage.local.set({ server: server.origin, pairingProblem: null });
  }
  $("server").value = server.origin;
  show("server-message", `Saved: ${server.origin}`);
  await render();
}

// --- Pairing ---------------------------------------------------------------------------------

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { status: response.status, data };
}

function unreachable(origin) {
  return `Could not reach ${origin}. Check the server address and that the server is running.`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function cancelPairing() {
  if (pairing) {
    pairing.cancelled = true;
  }
  pairing = null;
  $("code-box").hidden = true;
}

async function pair() {
  cancelPairing();
  show("pairing-message", "");
  const state = await local();
  const { origin } = parseServerUrl(state.server);
  const deviceName = $("device-name").value.trim() || defaultDeviceName(navigator.userAgentData?.platform);
  const flow = { cancelled: false };
  pairing = flow;
  $("pair").disabled = true;
  try {
    let answer;
    try {
      answer = await postJson(`${origin}/api/pair/start`, { device_name: deviceName });
    } catch {
      throw new Error(unreachable(origin));
    }
    if (answer.data === null) {
      throw new Error(`${origin} answered, but not as a S.M.I.L.E server would. Check the server address.`);
    }
    const started = parseStartAnswer(answer.status, answer.data);
    showCode(started);
    await poll(flow, origin, started);
  } catch (error) {
    if (!flow.cancelled) {
      cancelPairing();
      show("pairing-message", error.message);
    }
  } finally {
    $("pair").disabled = false;
  }
}

function showCode(started) {
  show("user-code", started.userCode);
  $("pair-link").href = started.verificationUriComplete;
  const expires = new Date(Date.now() + started.expiresIn * 1000);
  show("code-expiry", `The code works until ${expires.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" })}.`);
  $("code-box").hidden = false;
  show("pairing-state", "Waiting for you to approve this browser on the website…");
}

async function poll(flow, origin, started) {
  let interval = started.interval;
  for (;;) {
    // RFC 8628: wait the interval between polls, and longer when told to slow down.
    await sleep(interval * 1000);
    if (flow.cancelled) {
      return;
    }
    let answer;
    try {
      answer = await postJson(`${origin}/api/pair/token`, { device_code: started.deviceCode });
    } catch {
      // A blip while the person approves: keep polling, a bit slower, until the code expires.
      show("pairing-state", `${unreachable(origin)} Still trying…`);
      interval = Math.min(interval * 2, 60);
      continue;
    }
    if (flow.cancelled) {
      return;
    }
    const outcome = interpretTokenAnswer(answer.status, answer.data, interval);
    if (outcome.state === "wait") {
      interval = outcome.interval;
      show("pairing-state", "Waiting for you to approve this browser on the website…");
      continue;
    }
    if (outcome.state === "failed") {
      throw new Error(outcome.message);
    }
    await chrome.storage.local.set({
      token: outcome.token,
      deviceId: outcome.deviceId,
      deviceName: outcome.deviceName,
      pairingProblem: null,
    });
    cancelPairing();
    await tellBackground({ type: "paired" });
    await render();
    show("pairing-state", `Paired as “${outcome.deviceName}”. Open the S.M.I.L.E button in the toolbar and press Start.`);
    return;
  }
}

async function unpair() {
  cancelPairing();
  show("pairing-message", "");
  $("unpair").disabled = true;
  let answer;
  try {
    answer = await tellBackground({ type: "unpair" });
  } finally {
    $("unpair").disabled = false;
  }
  await render();
  // Success reads as the new state; a server that was not told is a problem to act on.
  show(answer?.revoked ? "pairing-state" : "pairing-message", answer?.text || "");
}

// --- Camera ----------------------------------------------------------------------------------

async function allowCamera() {
  show("camera-message", "Asking Chrome for the camera…");
  try {
    // A visible page must ask once; the offscreen document then uses the permission.
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    for (const track of stream.getTracks()) {
      track.stop();
    }
    show("camera-message", "Camera access is allowed.");
  } catch (error) {
    show(
      "camera-message",
      error.name === "NotAllowedError"
        ? "Camera access was refused. Allow it in Chrome's site settings for this extension, then try again."
        : `The camera could not be opened (${error.name}). Is one connected and free?`,
    );
  }
}

async function showCameraPermission() {
  try {
    const permission = await navigator.permissions.query({ name: "camera" });
    if (permission.state === "granted") {
      show("camera-message", "Camera access is allowed.");
    }
  } catch {
    // Older browsers cannot query the camera permission; the button still works.
  }
}

// --- Capture ---------------------------------------------------------------------------------

async function saveCapture(event) {
  event.preventDefault();
  const [width, height] = $("resolution").value.split("x").map(Number);
  try {
    const { serverMaxFps } = await chrome.storage.local.get("serverMaxFps");
    const capture = validateCapture({ fps: $("fps").value, width, height }, { maxFps: serverMaxFps || undefined });
    await chrome.storage.local.set({ capture, captureCustomized: true });
    await tellBackground({ type: "capture_changed" });
    show("capture-message", `Saved: ${capture.fps} frame(s) per second at ${capture.width}x${capture.height}.`);
  } catch (error) {
    show("capture-message", error.message);
  }
}

async function useSiteDefaults() {
  await chrome.storage.local.set({ capture: null, captureCustomized: false });
  await tellBackground({ type: "capture_changed" });
  await renderCapture();
  show("capture-message", "Using the defaults from your account on the site (or 1 frame per second at 640x480).");
}

async function renderCapture() {
  const state = await local();
  const { serverCapture } = await chrome.storage.session.get("serverCapture");
  const capture = (state.captureCustomized && state.capture) || serverCapture || DEFAULT_CAPTURE;
  const { serverMaxFps } = await chrome.storage.local.get("serverMaxFps");
  $("fps").max = String(serverMaxFps || FALLBACK_MAX_FPS);
  $("fps").value = String(capture.fps);
  $("resolution").value = `${capture.width}x${capture.height}`;
}

// --- Where the face is read -------------------------------------------------------------------

async function setMode(mode) {
  const state = await local();
  show("mode-message", "Saving…");
  let response;
  try {
    response = await fetch(`${parseServerUrl(state.server).origin}/api/device/mode`, {
      method: "POST",
      headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ mode }),
      credentials: "omit",
      cache: "no-store",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch {
    show("mode-message", "Not changed: the server cannot be reached right now.");
    await renderMode();
    return;
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401 || response.status === 403) {
    await tellBackground({ type: "token_rejected", code: response.status });
    show("mode-message", "Not changed: this browser needs to be paired again.");
  } else if (response.ok && (answer.mode === "private" || answer.mode === "server")) {
    // The server tells the open connection too: the switch needs no restart.
    await chrome.storage.local.set({ mode: answer.mode });
    show(
      "mode-message",
      answer.mode === "private"
        ? "Your face is now read on this computer. Only each minute's summary is sent."
        : "Your face is now read on the S.M.I.L.E server.",
    );
  } else {
    show("mode-message", `Not changed: ${answer.error_description || "the server refused it"}.`);
  }
  await renderMode();
}

async function renderMode() {
  const state = await local();
  $("mode-card").hidden = !state.token;
  for (const input of document.querySelectorAll('input[name="mode"]')) {
    input.checked = input.value === state.mode;
  }
}

// --- Rendering -------------------------------------------------------------------------------

async function render() {
  const state = await local();
  $("server").value = state.server;
  if (!$("device-name").value) {
    $("device-name").value = defaultDeviceName(navigator.userAgentData?.platform);
  }
  const paired = Boolean(state.token);
  $("paired").hidden = !paired;
  $("unpaired").hidden = paired || pairing !== null;
  if (paired) {
    show("pairing-state", `Paired as “${state.deviceName}” with ${state.server}.`);
  } else if (!pairing) {
    show("pairing-state", "This browser is not paired.");
  }
  if (!paired && state.pairingProblem) {
    show("pairing-message", state.pairingProblem);
  }
}

$("server-form").addEventListener("submit", (event) => saveServer(event).catch(console.error));
$("pair").addEventListener("click", () => {
  $("unpaired").hidden = true;
  pair()
    .catch(console.error)
    .finally(() => render());
});
$("cancel-pairing").addEventListener("click", () => {
  cancelPairing();
  render();
});
$("unpair").addEventListener("click", () => unpair().catch(console.error));
$("allow-camera").addEventListener("click", () => allowCamera());
$("capture-form").addEventListener("submit", (event) => saveCapture(event).catch(console.error));
$("use-site-defaults").addEventListener("click", () => useSiteDefaults().catch(console.error));
$("mode-form").addEventListener("change", (event) => setMode(event.target.value).catch(console.error));

// Revocation noticed by the stream, or pairing done in another tab: show it at once.
chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && ("token" in changes || "pairingProblem" in changes)) {
    render();
  }
  if (area === "local" && ("token" in changes || "mode" in changes)) {
    renderMode();
  }
});

render();
renderMode();
renderCapture();
showCameraPermission();
