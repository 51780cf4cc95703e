// The pairing side of the extension (RFC 8628 device flow, docs/protocol.md) and the server
// address, as pure functions: what a URL typed in the options page means, and what each
// answer of /api/pair/start and /api/pair/token tells the options page to do.

export const DEFAULT_SERVER = "http://127.0.0.1:8000";
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

export class ServerUrlError extends Error {}

/**
 * A server address as the user typed it, checked and reduced to its origin.
 * Plain http is for a server on this machine only; anything else must be https, because
 * the device token and the camera frames travel over it.
 * @returns {{origin: string, streamUrl: string, permission: string}}
 * @throws {ServerUrlError} with a sentence for the options page
 */
export function parseServerUrl(input) {
  const text = String(input ?? "").trim();
  if (!text) {
    throw new ServerUrlError("Enter the server's address, for example https://smile.example.com.");
  }
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new ServerUrlError(`"${text.slice(0, 80)}" is not a web address. It looks like https://smile.example.com.`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ServerUrlError("The address must start with https://.");
  }
  if (url.username || url.password) {
    throw new ServerUrlError("The address must not contain a user name or password.");
  }
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw new ServerUrlError("Use https:// for a server on another machine (http:// only for 127.0.0.1 or localhost).");
  }
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash) {
    throw new ServerUrlError("Enter only the server's address, without a path (for example https://smile.example.com).");
  }
  const origin = url.origin;
  const streamUrl = `${url.protocol === "https:" ? "wss:" : "ws:"}//${url.host}/ws/stream/`;
  // Host permission patterns ignore the port.
  const permission = `${url.protocol}//${url.hostname}/*`;
  return { origin, streamUrl, permission };
}

/** A device name the pairing page will show: which browser on which system. */
export function defaultDeviceName(platform) {
  const system = String(platform ?? "").trim().slice(0, 40);
  return system ? `Chrome on ${system}` : "Chrome";
}

const ERROR_TEXT = {
  access_denied: "The pairing was denied on the website. Start again if that was a mistake.",
  expired_token: "The code expired before it was approved. Start again for a new code.",
  invalid_grant: "This code is no longer valid. Start again for a new code.",
};

/**
 * What one answer of /api/pair/token means.
 * @param {number} status HTTP status
 * @param {unknown} body the parsed JSON body (or null)
 * @param {number} interval the current polling interval in seconds
 * @returns {{state: "paired", token: string, deviceId: number, deviceName: string}
 *   | {state: "wait", interval: number}
 *   | {state: "failed", message: string}}
 */
export function interpretTokenAnswer(status, body, interval) {
  const data = typeof body === "object" && body !== null ? body : {};
  if (status === 200) {
    if (typeof data.access_token === "string" && data.access_token && Number.isInteger(data.device_id)) {
      return {
        state: "paired",
        token: data.access_token,
        deviceId: data.device_id,
        deviceName: typeof data.device_name === "string" ? data.device_name : "",
      };
    }
    return { state: "failed", message: "The server's answer has no access token. Is this a S.M.I.L.E server?" };
  }
  if (data.error === "authorization_pending") {
    return { state: "wait", interval };
  }
  if (data.error === "slow_down") {
    // RFC 8628: add 5 seconds, or take the server's new interval when it says one.
    const next = Number.isFinite(data.interval) && data.interval > interval ? data.interval : interval + 5;
    return { state: "wait", interval: Math.min(next, 600) };
  }
  if (status === 429) {
    const wait = Number.isFinite(data.retry_after) ? data.retry_after : interval * 2;
    return { state: "wait", interval: Math.min(Math.max(wait, interval), 600) };
  }
  if (data.error in ERROR_TEXT) {
    return { state: "failed", message: ERROR_TEXT[data.error] };
  }
  const detail = typeof data.error_description === "string" ? ` ${data.error_description.slice(0, 200)}` : "";
  return { state: "failed", message: `The server refused the pairing (HTTP ${status}).${detail}` };
}

/**
 * The answer of /api/pair/start, checked.
 * @returns {{deviceCode: string, userCode: string, verificationUri: string,
 *   verificationUriComplete: string, expiresIn: number, interval: number}}
 * @throws {Error} with a sentence for the options page
 */
export function parseStartAnswer(status, body) {
  const data = typeof body === "object" && body !== null ? body : {};
  if (status === 429) {
    const minutes = Math.max(1, Math.ceil((Number(data.retry_after) || 60) / 60));
    throw new Error(`Too many pairing attempts from this network. Try again in ${minutes} minute(s).`);
  }
  if (status !== 200) {
    const detail = typeof data.error_description === "string" ? ` ${data.error_description.slice(0, 200)}` : "";
    throw new Error(`The server could not start pairing (HTTP ${status}).${detail}`);
  }
  const ok =
    typeof data.device_code === "string" &&
    /^[A-Z]{4}-[A-Z]{4}$/.test(data.user_code) &&
    typeof data.verification_uri === "string" &&
    Number.isFinite(data.expires_in) &&
    Number.isFinite(data.interval);
  if (!ok) {
    throw new Error("The server's answer is not a pairing code. Is this a S.M.I.L.E server?");
  }
  return {
    deviceCode: data.device_code,
    userCode: data.user_code,
    verificationUri: data.verification_uri,
    verificationUriComplete:
      typeof data.verification_uri_complete === "string" ? data.verification_uri_complete : data.verification_uri,
    expiresIn: data.expires_in,
    interval: Math.max(1, data.interval),
  };
}

/** Today's summary from GET /api/summary/today, checked; null when it is not one. */
export function parseSummary(body) {
  if (typeof body !== "object" || body === null) {
    return null;
  }
  const { date, windows, frames, faces, scores, dominant } = body;
  if (typeof date !== "string" || ![windows, frames, faces].every((n) => Number.isInteger(n) && n >= 0)) {
    return null;
  }
  const validScores =
    scores !== null && typeof scores === "object" && Object.values(scores).every((v) => typeof v === "number");
  return {
    date,
    windows,
    frames,
    faces,
    scores: validScores ? scores : null,
    dominant: validScores && typeof dominant === "string" ? dominant : null,
  };
}

/**
 * Today's summary in words for the popup. A stored reading covers one minute (the stream's window),
 * so the count is said as minutes, as the site's pages say it, not as "windows".
 * @returns {string}
 */
export function describeSummary(summary) {
  if (!summary.scores) {
    return "Nothing recorded yet today.";
  }
  const percent = (score) => `${Math.round(score * 100)}%`;
  const minutes = summary.windows;
  return (
    `Mostly ${summary.dominant} today (happy ${percent(summary.scores.happy ?? 0)}, ` +
    `sad ${percent(summary.scores.sad ?? 0)}), from ${minutes} stored minute${minutes === 1 ? "" : "s"}.`
  );
}

/**
 * What the answer of POST /api/device/revoke (status, or null when the server was not reached)
 * means for the person who pressed Unpair. The token is forgotten locally either way; when the
 * server was not told, they are sent to its devices page to revoke the browser there.
 * @returns {{revoked: boolean, text: string}}
 */
export function describeRevocation(status, origin) {
  if (status === 200) {
    return { revoked: true, text: "Unpaired. The server no longer accepts this browser." };
  }
  if (status === 401 || status === 403) {
    return { revoked: true, text: "Unpaired. The server had already revoked this browser." };
  }
  const why = status === null ? `${origin} could not be reached` : `the server answered HTTP ${status}`;
  return {
    revoked: false,
    text: `Unpaired here, but ${why}: remove this browser at ${origin}/devices/ to be sure its token stops working.`,
  };
}
