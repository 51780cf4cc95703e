// The service worker: owns the extension's state, the offscreen document's life, the toolbar
// badge and the notifications. The camera and the WebSocket live in the offscreen document
// (offscreen.js), which a service worker's 30-second idle timeout cannot close.

import { LOCAL_DEFAULTS, IDLE_STATUS } from "./lib/state.js";
import { effectiveCapture, DEFAULT_CAPTURE } from "./lib/protocol.js";
import { describeRevocation, parseServerUrl } from "./lib/pairing.js";

const OFFSCREEN_URL = "offscreen.html";
const WATCHDOG_ALARM = "smile-watchdog";
const NOTIFICATION_PREFIX = "smile-encourage-";

async function local() {
  return { ...LOCAL_DEFAULTS, ...(await chrome.storage.local.get(Object.keys(LOCAL_DEFAULTS))) };
}

async function setStatus(status) {
  await chrome.storage.session.set({ status });
  await showBadge(status);
}

async function showBadge(status) {
  // The camera being live must be obvious: a red ON badge, and the title says so.
  const live = Boolean(status?.camera);
  await chrome.action.setBadgeBackgroundColor({ color: live ? "#c62828" : "#757575" });
  await chrome.action.setBadgeText({ text: live ? "ON" : status?.connection === "reconnecting" ? "…" : "" });
  await chrome.action.setTitle({ title: live ? "S.M.I.L.E: the camera is live" : "S.M.I.L.E: the camera is off" });
}

// --- The offscreen document ----------------------------------------------------------------

let creating = null; // one createDocument at a time: two callers racing would both try

async function hasOffscreen() {
  const contexts = await chrome.runtime.getContexts({ contextTypes: ["OFFSCREEN_DOCUMENT"] });
  return contexts.length > 0;
}

async function ensureOffscreen() {
  if (await hasOffscreen()) {
    return false;
  }
  if (!creating) {
    creating = chrome.offscreen
      .createDocument({
        url: OFFSCREEN_URL,
        reasons: ["USER_MEDIA"],
        justification: "Reads webcam frames while the user has S.M.I.L.E running and streams them to their server.",
      })
      .finally(() => {
        creating = null;
      });
  }
  await creating;
  return true;
}

async function closeOffscreen() {
  if (creating) {
    await creating.catch(() => {});
  }
  if (await hasOffscreen()) {
    await chrome.offscreen.closeDocument();
  }
}

/** What the offscreen document needs to run, or null when it should not run. */
async function streamConfig() {
  const state = await local();
  if (!state.wantCapture || !state.token) {
    return null;
  }
  return {
    streamUrl: parseServerUrl(state.server).streamUrl,
    token: state.token,
    capture: state.capture ?? DEFAULT_CAPTURE,
    customized: state.captureCustomized,
    paused: Boolean((await chrome.storage.session.get("paused")).paused),
  };
}

async function startCapture() {
  const config = await streamConfig();
  if (!config) {
    return;
  }
  const created = await ensureOffscreen();
  // A new document asks for its configuration when it loads; a running one is told.
  if (!created) {
    await tellOffscreen({ type: "configure", config });
  }
  await chrome.alarms.create(WATCHDOG_ALARM, { periodInMinutes: 1 });
}

async function stopCapture(status = IDLE_STATUS) {
  await chrome.alarms.clear(WATCHDOG_ALARM);
  // The document stops its tracks on "stop"; closing it would stop them anyway.
  await tellOffscreen({ type: "stop" }).catch(() => {});
  await closeOffscreen();
  await chrome.storage.session.set({ latest: null, paused: false, calibration: null });
  await setStatus(status);
}

async function tellOffscreen(message) {
  if (await hasOffscreen()) {
    await chrome.runtime.sendMessage({ ...message, target: "offscreen" });
  }
}

// --- The token was refused: pair again ------------------------------------------------------

async function tokenRejected(code) {
  const problem =
    code === 4403 || code === 403
      ? "This browser was unpaired on the website (the device was revoked). Pair it again to continue."
      : "The server no longer knows this browser's token. Pair it again to continue.";
  await chrome.storage.local.set({ token: null, deviceId: null, wantCapture: false, pairingProblem: problem });
  await stopCapture({ ...IDLE_STATUS, connection: "unpaired", detail: problem });
}

// --- Notifications --------------------------------------------------------------------------

async function showEncouragement(encourage) {
  const { encouragements = {} } = await chrome.storage.session.get("encouragements");
  encouragements[encourage.id] = { message: encourage.message, resources: encourage.resources };
  await chrome.storage.session.set({ encouragements });
  const hasResources = encourage.resources.length > 0;
  await chrome.notifications.create(`${NOTIFICATION_PREFIX}${encourage.id}`, {
    type: "basic",
    iconUrl: "icons/icon128.png",
    title: "S.M.I.L.E",
    message: encourage.message,
    contextMessage: hasResources ? "Click to see people you can talk to." : "",
    buttons: [{ title: "This helped" }, { title: "Not now" }],
    requireInteraction: true,
  });
}

function encouragementId(notificationId) {
  if (!notificationId.startsWith(NOTIFICATION_PREFIX)) {
    return null;
  }
  const id = Number(notificationId.slice(NOTIFICATION_PREFIX.length));
  return Number.isInteger(id) ? id : null;
}

async function onNotificationButton(notificationId, buttonIndex) {
  const id = encouragementId(notificationId);
  if (id === null) {
    return;
  }
  await tellOffscreen({ type: "feedback", id, helpful: buttonIndex === 0 });
  await chrome.notifications.clear(notificationId);
}

async function onNotificationClicked(notificationId) {
  const id = encouragementId(notificationId);
  if (id === null) {
    return;
  }
  const { encouragements = {} } = await chrome.storage.session.get("encouragements");
  if (encouragements[id]?.resources?.length) {
    await chrome.tabs.create({ url: chrome.runtime.getURL(`support.html#${id}`) });
  }
}

// --- Messages -------------------------------------------------------------------------------

async function fromOffscreen(message) {
  switch (message.type) {
    case "get_config":
      return streamConfig();
    case "status":
      await setStatus(message.status);
      return null;
    case "ready":
      await chrome.storage.session.set({ serverCapture: message.serverCapture });
      // The top rate the options page offers: the server's, from its latest ready; and where
      // this device's frames are read (the server keeps the mode; the popup says which).
      await chrome.storage.local.set({ serverMaxFps: message.maxFps, mode: message.mode ?? "server" });
      return null;
    case "mode":
      await chrome.storage.local.set({ mode: message.mode });
      return null;
    case "result":
      await chrome.storage.session.set({ latest: message.result });
      return null;
    case "mood":
      // A window was stored on the server: an open popup refreshes today's summary.
      await chrome.storage.session.set({ lastWindow: message.mood });
      return null;
    case "encourage":
      await showEncouragement(message.encourage);
      return null;
    case "feedback_saved":
      await chrome.storage.session.set({ lastFeedbackSaved: message.id });
      return null;
    case "calibration":
      await chrome.storage.session.set({ calibration: message.calibration });
      return null;
    case "token_rejected":
      await tokenRejected(message.code);
      return null;
    default:
      return null;
  }
}

async function fromPages(message) {
  switch (message.type) {
    case "start":
      await chrome.storage.local.set({ wantCapture: true });
      await chrome.storage.session.set({ paused: false });
      await startCapture();
      return { ok: true };
    case "stop":
      await chrome.storage.local.set({ wantCapture: false });
      await stopCapture();
      return { ok: true };
    case "pause":
    case "resume":
      // A paused camera has no reading "right now": drop the last one.
      await chrome.storage.session.set({ paused: message.type === "pause", latest: null });
      await tellOffscreen({ type: message.type });
      return { ok: true };
    case "calibrate_start":
    case "calibrate_cancel":
      await tellOffscreen({ type: message.type });
      return { ok: true };
    case "capture_changed":
    case "paired":
      if (message.type === "paired") {
        await setStatus(IDLE_STATUS);
      }
      // A running stream picks up the new settings (or token) at once.
      if ((await local()).wantCapture) {
        await startCapture();
      }
      return { ok: true };
    case "unpair": {
      const { server, token } = await local();
      // Forget and disconnect first, so the server's revocation cannot race the open socket.
      await chrome.storage.local.set({ token: null, deviceId: null, wantCapture: false, pairingProblem: null });
      await stopCapture({ ...IDLE_STATUS, connection: "unpaired" });
      return { ok: true, ...(token ? await revokeOnServer(server, token) : { revoked: true, text: "" }) };
    }
    case "token_rejected":
      await tokenRejected(message.code);
      return { ok: true };
    default:
      return { ok: false, error: `unknown message ${message.type}` };
  }
}

// --- Unpairing ------------------------------------------------------------------------------

const REVOKE_TIMEOUT_MS = 10_000;

/** Tell the server to revoke this browser's token (POST /api/device/revoke). */
async function revokeOnServer(server, token) {
  const { origin } = parseServerUrl(server);
  let status = null;
  try {
    const response = await fetch(`${origin}/api/device/revoke`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
      credentials: "omit",
      cache: "no-store",
      signal: AbortSignal.timeout(REVOKE_TIMEOUT_MS),
    });
    status = response.status;
  } catch (error) {
    console.warn("S.M.I.L.E: could not reach the server to revoke the token", error);
  }
  return describeRevocation(status, origin);
}

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (message?.target !== "background" || sender.id !== chrome.runtime.id) {
    return false;
  }
  const fromDocument = sender.url?.endsWith(`/${OFFSCREEN_URL}`);
  (fromDocument ? fromOffscreen(message) : fromPages(message)).then(sendResponse, (error) => {
    console.error("S.M.I.L.E background:", error);
    sendResponse({ ok: false, error: String(error?.message ?? error) });
  });
  return true; // the answer comes asynchronously
});

chrome.notifications.onButtonClicked.addListener((id, index) => {
  onNotificationButton(id, index).catch((error) => console.error("S.M.I.L.E feedback:", error));
});
chrome.notifications.onClicked.addListener((id) => {
  onNotificationClicked(id).catch((error) => console.error("S.M.I.L.E resources:", error));
});

// The watchdog brings the stream back if the offscreen document went away (a crash, or the
// browser restarted while capture was on).
chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === WATCHDOG_ALARM) {
    startCapture().catch((error) => console.error("S.M.I.L.E watchdog:", error));
  }
});

chrome.runtime.onStartup.addListener(() => {
  chrome.storage.session
    .set({ paused: false })
    .then(startCapture)
    .catch((error) => console.error("S.M.I.L.E startup:", error));
});

chrome.runtime.onInstalled.addListener((details) => {
  showBadge(IDLE_STATUS).catch(() => {});
  if (details.reason === "install") {
    chrome.runtime.openOptionsPage();
  }
});

// For tests and debugging from the service worker's console: the handlers the UI triggers.
globalThis.smile = {
  onNotificationButton,
  onNotificationClicked,
  startCapture,
  stopCapture,
  effectiveCapture,
  fromOffscreen,
  fromPages,
};
