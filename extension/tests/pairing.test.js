import { test } from "node:test";
import assert from "node:assert/strict";

import {
  defaultDeviceName,
  describeRevocation,
  describeSummary,
  interpretTokenAnswer,
  parseServerUrl,
  parseStartAnswer,
  parseSummary,
  ServerUrlError,
} from "../lib/pairing.js";
import { describeStatus } from "../lib/state.js";

test("server addresses: https anywhere, http only on this machine, origins only", () => {
  assert.deepEqual(parseServerUrl(" https://smile.example.com/ "), {
    origin: "https://smile.example.com",
    streamUrl: "wss://smile.example.com/ws/stream/",
    permission: "https://smile.example.com/*",
  });
  assert.deepEqual(parseServerUrl("http://127.0.0.1:8000"), {
    origin: "http://127.0.0.1:8000",
    streamUrl: "ws://127.0.0.1:8000/ws/stream/",
    permission: "http://127.0.0.1/*",
  });
  assert.equal(parseServerUrl("http://localhost:9000").streamUrl, "ws://localhost:9000/ws/stream/");
  const refusals = {
    "": /Enter the server's address/,
    "smile.example.com": /is not a web address/,
    "ftp://smile.example.com": /must start with https/,
    "http://smile.example.com": /Use https:\/\//,
    "https://me:secret@smile.example.com": /user name or password/,
    "https://smile.example.com/app": /without a path/,
    "https://smile.example.com/?x=1": /without a path/,
  };
  for (const [input, message] of Object.entries(refusals)) {
    assert.throws(() => parseServerUrl(input), (error) => error instanceof ServerUrlError && message.test(error.message));
  }
});

test("device names say which browser on which system", () => {
  assert.equal(defaultDeviceName("Linux"), "Chrome on Linux");
  assert.equal(defaultDeviceName(""), "Chrome");
  assert.equal(defaultDeviceName(undefined), "Chrome");
});

test("token answers: paired, wait (slow_down adds 5 s), or a clear failure", () => {
  assert.deepEqual(
    interpretTokenAnswer(200, { access_token: "t", token_type: "Bearer", device_id: 4, device_name: "Chrome" }, 5),
    { state: "paired", token: "t", deviceId: 4, deviceName: "Chrome" },
  );
  assert.deepEqual(interpretTokenAnswer(400, { error: "authorization_pending" }, 5), { state: "wait", interval: 5 });
  assert.deepEqual(interpretTokenAnswer(400, { error: "slow_down", interval: 12 }, 7), { state: "wait", interval: 12 });
  assert.deepEqual(interpretTokenAnswer(400, { error: "slow_down" }, 7), { state: "wait", interval: 12 });
  assert.deepEqual(interpretTokenAnswer(400, { error: "slow_down" }, 598), { state: "wait", interval: 600 });
  assert.deepEqual(interpretTokenAnswer(429, { error: "rate_limited", retry_after: 30 }, 5), {
    state: "wait",
    interval: 30,
  });
  assert.match(interpretTokenAnswer(400, { error: "access_denied" }, 5).message, /denied on the website/);
  assert.match(interpretTokenAnswer(400, { error: "expired_token" }, 5).message, /code expired/);
  assert.match(interpretTokenAnswer(400, { error: "invalid_grant" }, 5).message, /no longer valid/);
  assert.match(
    interpretTokenAnswer(500, { error: "server_error", error_description: "Boom." }, 5).message,
    /HTTP 500\)\. Boom\./,
  );
  assert.match(interpretTokenAnswer(200, { token: "x" }, 5).message, /no access token/);
  assert.equal(interpretTokenAnswer(502, null, 5).state, "failed");
});

test("start answers are checked", () => {
  const good = {
    device_code: "d",
    user_code: "BCDF-GHJK",
    verification_uri: "http://127.0.0.1:8000/pair/",
    verification_uri_complete: "http://127.0.0.1:8000/pair/?code=BCDF-GHJK",
    expires_in: 600,
    interval: 5,
  };
  assert.deepEqual(parseStartAnswer(200, good), {
    deviceCode: "d",
    userCode: "BCDF-GHJK",
    verificationUri: good.verification_uri,
    verificationUriComplete: good.verification_uri_complete,
    expiresIn: 600,
    interval: 5,
  });
  assert.throws(() => parseStartAnswer(200, { ...good, user_code: "1234" }), /not a pairing code/);
  assert.throws(() => parseStartAnswer(429, { error: "rate_limited", retry_after: 90 }), /Try again in 2 minute/);
  assert.throws(
    () => parseStartAnswer(400, { error: "invalid_request", error_description: "device_name is required." }),
    /HTTP 400\)\. device_name is required\./,
  );
});

test("today's summary is checked", () => {
  const summary = { date: "2026-11-24", windows: 2, frames: 10, faces: 9, scores: { happy: 0.8 }, dominant: "happy" };
  assert.deepEqual(parseSummary(summary), summary);
  assert.deepEqual(parseSummary({ ...summary, scores: null, dominant: null }), {
    ...summary,
    scores: null,
    dominant: null,
  });
  assert.equal(parseSummary({ ...summary, windows: -1 }), null);
  assert.equal(parseSummary("nope"), null);
});

test("today's summary in plain words: minutes, not windows", () => {
  const summary = { date: "2026-11-24", windows: 3, frames: 180, faces: 170, scores: { happy: 0.22, sad: 0.12 }, dominant: "neutral" };
  assert.equal(describeSummary(summary), "Mostly neutral today (happy 22%, sad 12%), from 3 stored minutes.");
  assert.equal(describeSummary({ ...summary, windows: 1 }), "Mostly neutral today (happy 22%, sad 12%), from 1 stored minute.");
  assert.equal(describeSummary({ ...summary, scores: null, dominant: null }), "Nothing recorded yet today.");
});

test("status sentences", () => {
  assert.match(describeStatus({ connection: "live" }, { paired: false }), /Not paired/);
  assert.equal(describeStatus({ connection: "live", paused: false }, { paired: true }), "Live: reading your expression.");
  assert.equal(describeStatus({ connection: "live", paused: true }, { paired: true }), "Paused: the camera is off.");
  assert.equal(describeStatus({ connection: "reconnecting", detail: "" }, { paired: true }), "Connection lost. Reconnecting…");
  assert.match(describeStatus(undefined, { paired: true }), /Press Start/);
});

test("unpairing: says whether the server revoked the token, and where to do it when not", () => {
  const origin = "https://smile.example.com";
  assert.deepEqual(describeRevocation(200, origin), {
    revoked: true,
    text: "Unpaired. The server no longer accepts this browser.",
  });
  for (const status of [401, 403]) {
    assert.equal(describeRevocation(status, origin).revoked, true);
    assert.match(describeRevocation(status, origin).text, /already revoked/);
  }
  const offline = describeRevocation(null, origin);
  assert.equal(offline.revoked, false);
  assert.match(offline.text, /https:\/\/smile\.example\.com could not be reached/);
  assert.match(offline.text, /https:\/\/smile\.example\.com\/devices\//);
  for (const status of [429, 500, 502]) {
    const refused = describeRevocation(status, origin);
    assert.equal(refused.revoked, false);
    assert.match(refused.text, new RegExp(`answered HTTP ${status}`));
  }
});
