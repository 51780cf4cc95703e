// The live check-in page: the browser camera, the stream protocol (docs/protocol.md) with the
// session cookie (the server sends `ready` at once), results on the page. Frames are JPEGs sent
// over the socket and never stored; Stop releases the camera and closes the socket.
// The protocol itself (parsing every server message, close codes, capture rules) is the
// extension's tested client, extension/lib/protocol.js, served as /static/extension-lib/.
"use strict";

(async function () {
  const config = JSON.parse(document.getElementById("live-config").textContent);
  let protocol;
  try {
    protocol = await import(config.protocol_url);
  } catch (error) {
    document.getElementById("live-status").textContent = "The live check-in could not load. Reload the page.";
    return;
  }
  const startButton = document.getElementById("live-start");
  const stopButton = document.getElementById("live-stop");
  const video = document.getElementById("live-video");
  const statusLine = document.getElementById("live-status");
  const indicator = document.getElementById("camera-indicator");
  const cameraState = document.getElementById("camera-state");
  const canvas = document.createElement("canvas");
  let socket = null;
  let stream = null;
  let timer = null;
  let answered = 0;
  let faces = 0;

  function say(text) {
    statusLine.textContent = text;
  }

  function setCamera(on) {
    indicator.dataset.state = on ? "on" : "off";
    cameraState.textContent = on ? "Camera on: S.M.I.L.E is looking" : "Camera off";
    video.hidden = !on;
    startButton.disabled = on;
    stopButton.disabled = !on;
    calibrateButton.disabled = !on;
    if (!on) {
      cancelButton.hidden = true;
    }
    // The hint follows the camera; a calibration's own outcome stays until the next change.
    if (calibrationStatus.textContent === (on ? HINT_OFF : HINT_ON)) {
      calibrationStatus.textContent = on ? HINT_ON : HINT_OFF;
    }
  }

  const HINT_OFF = "Start the check-in first; then calibrate.";
  const HINT_ON = "The check-in is on: look at the screen as you do when working, then press Calibrate.";

  // Calibration (docs/protocol.md): calibrate_start / calibrate_cancel; the server answers
  // calibration_progress, then calibrated or calibration_refused.
  const calibrateButton = document.getElementById("calibrate-start");
  const cancelButton = document.getElementById("calibrate-cancel");
  const calibrationStatus = document.getElementById("calibration-status");

  function calibrating(on) {
    calibrateButton.disabled = on || socket === null;
    cancelButton.hidden = !on;
  }

  function showCalibration(message) {
    if (message.type === "calibration_progress") {
      calibrating(true);
      calibrationStatus.textContent =
        "Calibrating: look at the screen as you do when working. " +
        Math.ceil(message.secondsLeft) + " s left, " + message.faces + " frames with a face.";
    } else if (message.type === "calibrated") {
      calibrating(false);
      calibrationStatus.textContent = "Calibrated on " + message.faces + " frames. Readings now compare you with your resting face.";
      document.getElementById("calibration-state").textContent = "A baseline from just now is in use.";
    } else if (message.type === "calibration_refused") {
      calibrating(false);
      calibrationStatus.textContent = "Not calibrated: " + message.message;
    }
  }

  function showResult(message) {
    answered += 1;
    document.getElementById("live-frames").textContent = String(answered);
    if (!message.face) {
      document.getElementById("live-dominant").textContent = "No face found";
      return;
    }
    faces += 1;
    document.getElementById("live-faces").textContent = String(faces);
    document.getElementById("live-dominant").textContent =
      message.dominant.charAt(0).toUpperCase() + message.dominant.slice(1);
    config.emotions.forEach(function (emotion) {
      const score = message.scores[emotion];
      document.querySelector('meter[data-emotion="' + emotion + '"]').value = score;
      document.querySelector('[data-percent="' + emotion + '"]').textContent = Math.round(score * 100) + "%";
    });
  }

  function showMood(message) {
    const item = document.createElement("li");
    // 24-hour, in the account's zone: as every page of the site writes a time.
    const end = new Date(message.end).toLocaleTimeString([], {
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZone: config.time_zone,
    });
    item.textContent = message.dominant && message.uncertain
      ? end + ": not sure (" + message.faces + " of " + message.frames + " frames with a face)"
      : message.dominant
      ? end + ": mostly " + message.dominant + " (" + message.faces + " of " + message.frames + " frames with a face)"
      : end + ": no face seen (" + message.frames + " frames), nothing stored";
    document.getElementById("live-moods").prepend(item);
  }

  function showEncouragement(message) {
    const box = document.getElementById("live-encouragement");
    box.textContent = message.message;
    box.hidden = false;
  }

  function sendFrame() {
    if (!socket || socket.readyState !== WebSocket.OPEN || video.readyState < 2) {
      return;
    }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(
      function (blob) {
        if (blob && socket && socket.readyState === WebSocket.OPEN) {
          socket.send(blob);
        }
      },
      "image/jpeg",
      0.8,
    );
  }

  let ready = null;

  function sayRate(fps) {
    say("Checking in at " + fps + " frame" + (fps === 1 ? "" : "s") + " per second. Press Stop when you are done.");
  }

  async function begin(message) {
    ready = message;
    const capture = protocol.effectiveCapture({ server: ready.capture || config.capture, maxFps: ready.maxFps });
    const fps = capture.fps;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: capture.width }, height: { ideal: capture.height } },
        audio: false,
      });
    } catch (error) {
      say("The camera is not available (" + error.name + "). Allow it in the browser and try again.");
      stop();
      return;
    }
    video.srcObject = stream;
    await video.play();
    setCamera(true);
    sayRate(fps);
    timer = window.setInterval(sendFrame, 1000 / fps);
  }

  // New capture defaults saved in Settings (another tab) apply now, without reconnecting.
  async function changeCapture(message) {
    if (!ready || !stream || timer === null) {
      return;
    }
    ready = protocol.withServerCapture(ready, message);
    const capture = protocol.effectiveCapture({ server: ready.capture, maxFps: ready.maxFps });
    window.clearInterval(timer);
    timer = window.setInterval(sendFrame, 1000 / capture.fps);
    sayRate(capture.fps);
    const track = stream.getVideoTracks()[0];
    if (track) {
      await track.applyConstraints({ width: { ideal: capture.width }, height: { ideal: capture.height } }).catch(function () {});
    }
  }

  function start() {
    startButton.disabled = true;
    answered = 0;
    faces = 0;
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/stream/");
    socket.binaryType = "arraybuffer";
    say("Connecting…");
    socket.addEventListener("message", function (event) {
      let message;
      try {
        message = protocol.parseServerMessage(event.data);
      } catch (error) {
        if (error instanceof protocol.ProtocolError) {
          return; // not a message of protocol v1: ignored, as the extension does
        }
        throw error;
      }
      if (message.type === "ready") {
        begin(message);
      } else if (message.type === "result") {
        showResult(message);
      } else if (message.type === "mood") {
        showMood(message);
      } else if (message.type.indexOf("calibrat") === 0) {
        showCalibration(message);
      } else if (message.type === "encourage") {
        showEncouragement(message);
      } else if (message.type === "capture") {
        changeCapture(message);
      } else if (message.type === "error") {
        say("A frame was refused (" + message.code + ").");
      }
    });
    socket.addEventListener("close", function (event) {
      if (socket !== null) {
        say(closeReason(event.code));
        stop();
      }
    });
  }

  // What a close code means, in words (docs/protocol.md lists them).
  function closeReason(code) {
    if (protocol.closeAction(code) === "refused_origin") {
      return "This server does not accept live check-ins from " + window.location.origin +
        ". Open the site at the address its administrator set up, or add this one to SMILE_SITE_ORIGINS.";
    }
    if (code === protocol.CLOSE_BAD_TOKEN) {
      return "Your session has ended: log in again.";
    }
    return "The connection closed (" + code + ").";
  }

  function stop() {
    window.clearInterval(timer);
    timer = null;
    if (stream) {
      stream.getTracks().forEach((track) => track.stop());
      stream = null;
    }
    video.srcObject = null;
    const open = socket;
    socket = null;
    ready = null;
    if (open && open.readyState <= WebSocket.OPEN) {
      open.close(1000);
      say("Stopped. The camera is off; this minute's summary is stored if a face was seen.");
    }
    setCamera(false);
  }

  calibrateButton.addEventListener("click", function () {
    if (socket && socket.readyState === WebSocket.OPEN) {
      calibrating(true);
      socket.send(JSON.stringify({ type: "calibrate_start" }));
    }
  });
  cancelButton.addEventListener("click", function () {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "calibrate_cancel" }));
    }
  });
  // "How do you feel?" without leaving the page (the camera keeps running).
  const selfReport = document.getElementById("live-self-report");
  selfReport.addEventListener("submit", async function (event) {
    event.preventDefault();
    const data = new FormData(selfReport);
    if (event.submitter && event.submitter.name) {
      data.set(event.submitter.name, event.submitter.value);
    }
    const status = document.getElementById("self-report-status");
    try {
      const response = await fetch(selfReport.action, {
        method: "POST",
        body: data,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const answer = await response.json();
      if (answer.saved) {
        status.textContent = "Saved: you felt " + data.get("emotion") + ". Thank you.";
        selfReport.reset();
      } else {
        status.textContent = "Not saved: " + Object.values(answer.errors || {}).flat().join(" ");
      }
    } catch (error) {
      status.textContent = "Not saved: the server cannot be reached right now.";
    }
  });
  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  window.addEventListener("pagehide", stop);
})();
