// The popup: connection and camera state, the live reading, today's summary, Start/Pause/Stop.

import { describeMode, describeStatus, IDLE_STATUS, LOCAL_DEFAULTS, readingToShow, summaryIsStale } from "./lib/state.js";
import { EMOTIONS } from "./lib/protocol.js";
import { describeSummary, parseServerUrl, parseSummary } from "./lib/pairing.js";

const $ = (id) => document.getElementById(id);
const SUMMARY_EVERY_MS = 60000;
const SUMMARY_AFTER_WINDOW_MS = 1500;
let summaryRefresh = null;

async function local() {
  return { ...LOCAL_DEFAULTS, ...(await chrome.storage.local.get(Object.keys(LOCAL_DEFAULTS))) };
}

function tellBackground(message) {
  return chrome.runtime.sendMessage({ ...message, target: "background" });
}

const percent = (score) => `${Math.round(score * 100)}%`;

function renderLatest(reading) {
  const list = $("scores");
  list.replaceChildren();
  $("dominant").textContent = reading.text;
  if (!reading.scores) {
    return;
  }
  for (const emotion of EMOTIONS) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = emotion.charAt(0).toUpperCase() + emotion.slice(1);
    const bar = document.createElement("meter");
    bar.className = `meter meter-${emotion}`;
    bar.min = 0;
    bar.max = 1;
    bar.value = reading.scores[emotion];
    bar.setAttribute("aria-hidden", "true");
    const value = document.createElement("span");
    value.textContent = percent(reading.scores[emotion]);
    item.append(name, bar, value);
    item.dataset.emotion = emotion;
    list.append(item);
  }
}

async function renderState() {
  const state = await local();
  const {
    status = IDLE_STATUS,
    latest = null,
    paused = false,
  } = await chrome.storage.session.get(["status", "latest", "paused"]);
  const paired = Boolean(state.token);
  $("feel").hidden = !paired;
  $("connection").textContent = describeStatus(status, { paired });
  $("camera").textContent = status.camera ? "Camera on" : "Camera off";
  $("camera").classList.toggle("badge-live", Boolean(status.camera));
  const running = state.wantCapture && paired;
  $("pair").hidden = paired;
  $("mode").hidden = !paired;
  $("mode").textContent = describeMode(state.mode);
  $("start").hidden = running || !paired;
  $("stop").hidden = !running;
  // The popup's own Pause click is in "paused" before the offscreen document reports it.
  const isPaused = Boolean(status.paused || paused);
  $("pause").hidden = !running || isPaused;
  $("resume").hidden = !running || !isPaused;
  renderLatest(readingToShow({ running, paused: isPaused, latest }));
  const { calibration = null } = await chrome.storage.session.get("calibration");
  renderCalibration(running && !isPaused && status.connection === "live", calibration);
  try {
    $("history").href = `${parseServerUrl(state.server).origin}/history/`;
  } catch {
    $("history").removeAttribute("href");
  }
}

function renderCalibration(live, calibration) {
  $("calibration").hidden = !live;
  const running = calibration?.type === "calibration_progress" && Date.now() - calibration.at < 60000;
  $("calibrate_start").hidden = running;
  $("calibrate_cancel").hidden = !running;
  if (!calibration) {
    $("calibration-status").textContent = "";
  } else if (running) {
    $("calibration-status").textContent =
      `Calibrating: ${Math.ceil(calibration.secondsLeft)} s left, ${calibration.faces} frames with a face.`;
  } else if (calibration.type === "calibrated") {
    $("calibration-status").textContent = `Calibrated on ${calibration.faces} frames: readings now compare you with your resting face.`;
  } else if (calibration.type === "calibration_refused") {
    $("calibration-status").textContent = `Not calibrated: ${calibration.message}`;
  }
}

// "How do you feel?": one tap sends a self-report (POST /api/self-report, docs/protocol.md).
async function sendSelfReport(emotion) {
  const state = await local();
  const note = $("feel-note").value.trim();
  let response;
  try {
    response = await fetch(`${parseServerUrl(state.server).origin}/api/self-report`, {
      method: "POST",
      headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ emotion, note }),
      credentials: "omit",
      cache: "no-store",
      signal: AbortSignal.timeout(15000),
    });
  } catch {
    $("feel-status").textContent = "Not saved: the server cannot be reached right now.";
    return;
  }
  if (response.status === 401 || response.status === 403) {
    await tellBackground({ type: "token_rejected", code: response.status });
    $("feel-status").textContent = "Not saved: this browser needs to be paired again.";
    return;
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status === 201) {
    $("feel-status").textContent = `Saved: you felt ${emotion}. Thank you.`;
    $("feel-note").value = "";
  } else {
    $("feel-status").textContent = `Not saved: ${answer.error_description || `HTTP ${response.status}`}`;
  }
}

function renderFeelButtons() {
  const group = document.querySelector("#feel .feel");
  for (const emotion of EMOTIONS) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button button-secondary";
    button.textContent = emotion.charAt(0).toUpperCase() + emotion.slice(1);
    button.addEventListener("click", () => sendSelfReport(emotion));
    group.append(button);
  }
}

async function renderSummary() {
  const state = await local();
  if (!state.token) {
    $("summary").textContent = "Pair this browser to see today's summary.";
    return;
  }
  let response;
  try {
    response = await fetch(`${parseServerUrl(state.server).origin}/api/summary/today`, {
      headers: { Authorization: `Bearer ${state.token}` },
      credentials: "omit",
      cache: "no-store",
      signal: AbortSignal.timeout(15000),
    });
  } catch {
    $("summary").textContent = "The server cannot be reached right now.";
    return;
  }
  if (response.status === 401 || response.status === 403) {
    await tellBackground({ type: "token_rejected", code: response.status });
    $("summary").textContent = "This browser needs to be paired again.";
    return;
  }
  const summary = response.ok ? parseSummary(await response.json().catch(() => null)) : null;
  if (!summary) {
    $("summary").textContent = `No summary (the server answered HTTP ${response.status}).`;
  } else {
    $("summary").textContent = describeSummary(summary);
  }
}

for (const command of ["start", "stop", "pause", "resume", "calibrate_start", "calibrate_cancel"]) {
  $(command).addEventListener("click", async () => {
    await tellBackground({ type: command });
    await renderState();
  });
}

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "session" || (area === "local" && ("token" in changes || "wantCapture" in changes || "mode" in changes))) {
    renderState();
  }
  // A window was stored while the popup is open: today's summary has changed. The server sends
  // "mood" just before it writes the window, so ask a moment later.
  if (summaryIsStale(changes, area)) {
    clearTimeout(summaryRefresh);
    summaryRefresh = setTimeout(renderSummary, SUMMARY_AFTER_WINDOW_MS);
  }
});

renderFeelButtons();
renderState();
renderSummary();
setInterval(renderSummary, SUMMARY_EVERY_MS);
