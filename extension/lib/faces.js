// Finding the face and cutting the crop the expression model reads, exactly as the server does
// (inference/blazeface.py, inference/faces.py, inference/network.py), for private mode: the
// offscreen document reads frames on this computer. Pure array code (no browser APIs, no
// runtime): the two models run elsewhere (lib/reader.js); node --test checks these steps against
// the server's own outputs (extension/tests/vectors/faces.json).

export const DETECTOR_SIZE = 128;
export const FACE_SIZE = 48;
export const NETWORK_SIZE = 40;
export const MIN_DECODED_WIDTH = 640;
export const MIN_FACE_SCORE = 0.5;
export const FACE_OVERLAP = 0.3;
// The server's crop (inference/faces.py CROP_MARGIN): BlazeFace's box itself.
export const FACE_MARGIN = 0;

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The size the server decodes a frame at: halved while half is still at least 640 wide (at most 1/8). */
export function decodedSize(width, height) {
  let scale = 1;
  while (scale < 8 && Math.floor(width / (scale * 2)) >= MIN_DECODED_WIDTH) {
    scale *= 2;
  }
  return { width: Math.ceil(width / scale), height: Math.ceil(height / scale) };
}

/** RGBA pixels -> grey, with OpenCV's fixed-point BT.601 weights (cv2.COLOR_RGB2GRAY). */
export function grayFromRGBA(rgba, width, height) {
  const gray = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < gray.length; i += 1, j += 4) {
    gray[i] = (rgba[j] * 4899 + rgba[j + 1] * 9617 + rgba[j + 2] * 1868 + 8192) >> 14;
  }
  return gray;
}

// OpenCV's INTER_AREA tables along one axis when shrinking: each destination pixel averages the
// source pixels its footprint covers, weighted by the covered length (cv::resize, computeResizeAreaTab).
function areaTable(sourceSize, destSize) {
  const scale = sourceSize / destSize;
  const table = [];
  for (let d = 0; d < destSize; d += 1) {
    const f1 = d * scale;
    const f2 = f1 + scale;
    const cell = Math.min(scale, sourceSize - f1);
    let s1 = Math.ceil(f1);
    let s2 = Math.floor(f2);
    s2 = Math.min(s2, sourceSize - 1);
    s1 = Math.min(s1, sourceSize - 1);
    const entries = [];
    if (s1 - f1 > 1e-3) {
      entries.push([s1 - 1, (s1 - f1) / cell]);
    }
    for (let s = s1; s < s2; s += 1) {
      entries.push([s, 1 / cell]);
    }
    if (f2 - s2 > 1e-3) {
      entries.push([s2, Math.min(Math.min(f2 - s2, 1), cell) / cell]);
    }
    table.push(entries);
  }
  return table;
}

// OpenCV's INTER_AREA when enlarging: linear weights with the area rule at the edges.
function enlargeTable(sourceSize, destSize) {
  const scale = sourceSize / destSize;
  const inverse = 1 / scale;
  const table = [];
  for (let d = 0; d < destSize; d += 1) {
    const s = Math.floor(d * scale);
    let f = Math.fround(d + 1 - (s + 1) * inverse);
    f = f <= 0 ? 0 : Math.fround(f - Math.floor(f));
    const a = Math.min(Math.max(s, 0), sourceSize - 1);
    const b = Math.min(Math.max(s + 1, 0), sourceSize - 1);
    table.push([[a, 1 - f], [b, f]]);
  }
  return table;
}

// OpenCV shrinks by whole factors with plain means: the sum of each cell times 1/area, in float.
function resizeAreaFast(src, width, height, destWidth, destHeight, fx, fy) {
  const out = new Uint8Array(destWidth * destHeight);
  const scale = Math.fround(1 / (fx * fy));
  for (let y = 0; y < destHeight; y += 1) {
    for (let x = 0; x < destWidth; x += 1) {
      let sum = 0;
      for (let dy = 0; dy < fy; dy += 1) {
        const row = (y * fy + dy) * width + x * fx;
        for (let dx = 0; dx < fx; dx += 1) {
          sum += src[row + dx];
        }
      }
      out[y * destWidth + x] = Math.min(255, roundHalfEven(Math.fround(sum * scale)));
    }
  }
  return out;
}

// Enlarging (a face smaller than the crop), OpenCV runs its linear resize with the area rule's
// weights, in fixed point: weights times 2048, rows summed, then its vectorised vertical pass
// (VResizeLinearVec_32s8u), whose truncations decide some pixels by one level.
function resizeEnlarge(src, width, height, destWidth, destHeight) {
  const fixed = (entries) => entries.map(([s, w]) => [s, roundHalfEven(w * 2048)]);
  const xs = enlargeTable(width, destWidth).map(fixed);
  const ys = enlargeTable(height, destHeight).map(fixed);
  const out = new Uint8Array(destWidth * destHeight);
  for (let y = 0; y < destHeight; y += 1) {
    for (let x = 0; x < destWidth; x += 1) {
      let sum = 0;
      for (const [sy, wy] of ys[y]) {
        let row = 0;
        for (const [sx, wx] of xs[x]) {
          row += src[sy * width + sx] * wx;
        }
        sum += ((row >> 4) * wy) >> 16;
      }
      out[y * destWidth + x] = Math.min(255, Math.max(0, (sum + 2) >> 2));
    }
  }
  return out;
}

/** cv2.resize(..., interpolation=cv2.INTER_AREA) of 8-bit grey pixels: float32 sums, rounded half to even. */
export function resizeArea(src, width, height, destWidth, destHeight) {
  const fx = width / destWidth;
  const fy = height / destHeight;
  if (Number.isInteger(fx) && Number.isInteger(fy) && fx >= 1 && fy >= 1 && (fx > 1 || fy > 1)) {
    return resizeAreaFast(src, width, height, destWidth, destHeight, fx, fy);
  }
  if (destWidth > width || destHeight > height) {
    return resizeEnlarge(src, width, height, destWidth, destHeight);
  }
  const f32 = Math.fround;
  const table = (size, destSize) => areaTable(size, destSize);
  const xs = table(width, destWidth).map((entries) => entries.map(([s, w]) => [s, f32(w)]));
  const ys = table(height, destHeight).map((entries) => entries.map(([s, w]) => [s, f32(w)]));
  const rows = new Float32Array(height * destWidth);
  for (let y = 0; y < height; y += 1) {
    const offset = y * width;
    for (let x = 0; x < destWidth; x += 1) {
      let sum = 0;
      for (const [s, w] of xs[x]) {
        sum = f32(sum + f32(src[offset + s] * w));
      }
      rows[y * destWidth + x] = sum;
    }
  }
  const out = new Uint8Array(destWidth * destHeight);
  for (let y = 0; y < destHeight; y += 1) {
    for (let x = 0; x < destWidth; x += 1) {
      let sum = 0;
      for (const [s, w] of ys[y]) {
        sum = f32(sum + f32(rows[s * destWidth + x] * w));
      }
      out[y * destWidth + x] = Math.min(255, Math.max(0, roundHalfEven(sum)));
    }
  }
  return out;
}

/** The detector's 128x128x3 input in [-1, 1] (the frame fitted with its aspect kept, black bars), and how to map back. */
export function letterbox(gray, width, height) {
  const scale = DETECTOR_SIZE / Math.max(width, height);
  const newWidth = Math.max(1, roundHalfEven(width * scale));
  const newHeight = Math.max(1, roundHalfEven(height * scale));
  const small = resizeArea(gray, width, height, newWidth, newHeight);
  const padX = Math.floor((DETECTOR_SIZE - newWidth) / 2);
  const padY = Math.floor((DETECTOR_SIZE - newHeight) / 2);
  const input = new Float32Array(DETECTOR_SIZE * DETECTOR_SIZE * 3).fill(-1);
  for (let y = 0; y < newHeight; y += 1) {
    for (let x = 0; x < newWidth; x += 1) {
      const value = Math.fround(Math.fround(small[y * newWidth + x] / 127.5) - 1);
      const at = ((y + padY) * DETECTOR_SIZE + (x + padX)) * 3;
      input[at] = input[at + 1] = input[at + 2] = value;
    }
  }
  return { input, small, scale, padX, padY };
}

/** (896, 2) anchor centres in [0, 1], in the model's output order: a 16x16 grid x2, then 8x8 x6. */
export const ANCHORS = (() => {
  const centres = [];
  for (const [grid, perCell] of [[16, 2], [8, 6]]) {
    for (let y = 0; y < grid; y += 1) {
      for (let x = 0; x < grid; x += 1) {
        for (let k = 0; k < perCell; k += 1) {
          centres.push([Math.fround((x + 0.5) / grid), Math.fround((y + 0.5) / grid)]);
        }
      }
    }
  }
  return centres;
})();

/** The detector's outputs -> candidate boxes [x0, y0, x1, y1] in input pixels and their scores. */
export function decodeDetections(regressors, logits) {
  const boxes = [];
  const scores = [];
  for (let i = 0; i < ANCHORS.length; i += 1) {
    const r = i * 16;
    const cx = Math.fround(ANCHORS[i][0] * DETECTOR_SIZE + regressors[r]);
    const cy = Math.fround(ANCHORS[i][1] * DETECTOR_SIZE + regressors[r + 1]);
    const w = regressors[r + 2];
    const h = regressors[r + 3];
    boxes.push([Math.fround(cx - w / 2), Math.fround(cy - h / 2), Math.fround(cx + w / 2), Math.fround(cy + h / 2)]);
    scores.push(1 / (1 + Math.exp(-Math.min(100, Math.max(-100, logits[i])))));
  }
  return { boxes, scores };
}

function overlap(a, b) {
  const x0 = Math.max(a[0], b[0]);
  const y0 = Math.max(a[1], b[1]);
  const x1 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y1 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

/** cv2.dnn.NMSBoxes: candidates by score (highest first, ties in order), dropping those overlapping a kept one. */
export function nonMaximumSuppression(xywh, scores, threshold, maxOverlap) {
  const order = scores
    .map((score, index) => [score, index])
    .filter(([score]) => score > threshold)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .map(([, index]) => index);
  const kept = [];
  for (const index of order) {
    if (kept.every((other) => overlap(xywh[index], xywh[other]) <= maxOverlap)) {
      kept.push(index);
    }
  }
  return kept;
}

/** The largest confident face, as {x, y, width, height} in frame pixels, or null (BlazeFaceDetector.find_face). */
export function findFace({ regressors, logits }, { width, height, scale, padX, padY }) {
  const { boxes, scores } = decodeDetections(regressors, logits);
  const xywh = [];
  const confident = [];
  boxes.forEach((box, index) => {
    if (scores[index] >= MIN_FACE_SCORE) {
      xywh.push([box[0], box[1], box[2] - box[0], box[3] - box[1]]);
      confident.push(scores[index]);
    }
  });
  if (!xywh.length) {
    return null;
  }
  const kept = nonMaximumSuppression(xywh, confident, MIN_FACE_SCORE, FACE_OVERLAP);
  let best = null;
  for (const index of kept) {
    if (best === null || xywh[index][2] * xywh[index][3] > best[2] * best[3]) {
      best = xywh[index];
    }
  }
  const [x, y, w, h] = best;
  const x0 = Math.max(0, roundHalfEven((x - padX) / scale));
  const y0 = Math.max(0, roundHalfEven((y - padY) / scale));
  const x1 = Math.min(width, roundHalfEven((x + w - padX) / scale));
  const y1 = Math.min(height, roundHalfEven((y + h - padY) / scale));
  if (x1 <= x0 || y1 <= y0) {
    return null;
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

// Small faces get a second, closer look, as on the server (inference/blazeface.py
// BlazeFaceDetector.find_face): a frame where the whole view finds nothing is looked at again in
// its middle half, and a face under a fifth of the view it was found in is boxed again in a window
// of four face widths around it.
export const SMALL_FACE_DIVISOR = 5;
export const ZOOM_FACE_WIDTHS = 4;

/** The middle half of the frame (each side halved), as {x, y, width, height}. */
export function centreWindow(width, height) {
  const w = Math.max(1, Math.floor(width / 2));
  const h = Math.max(1, Math.floor(height / 2));
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), width: w, height: h };
}

/** Four face widths square around the face, moved back inside the frame. */
export function windowAround(box, width, height) {
  const side = box.width * ZOOM_FACE_WIDTHS;
  const w = Math.min(side, width);
  const h = Math.min(side, height);
  const x = Math.min(Math.max(Math.floor((2 * box.x + box.width - w) / 2), 0), width - w);
  const y = Math.min(Math.max(Math.floor((2 * box.y + box.height - h) / 2), 0), height - h);
  return { x, y, width: w, height: h };
}

export function isSmallFace(box, width, height) {
  return box.width * SMALL_FACE_DIVISOR < Math.max(width, height);
}

/** The window's grey pixels, row by row. */
export function cropWindow(gray, width, window) {
  const out = new Uint8Array(window.width * window.height);
  for (let y = 0; y < window.height; y += 1) {
    const start = (window.y + y) * width + window.x;
    out.set(gray.subarray(start, start + window.width), y * window.width);
  }
  return out;
}

/**
 * The face the server would find: `look(gray, width, height)` is one pass of the detector (a
 * promise of a box or null); it runs on the whole frame, then on the middle half if that found
 * nothing, then on a window around a face small in the view it was found in.
 */
export async function locateFace(gray, width, height, look) {
  const within = async (window) => {
    const found = await look(cropWindow(gray, width, window), window.width, window.height);
    return found && { x: found.x + window.x, y: found.y + window.y, width: found.width, height: found.height };
  };
  let box = await look(gray, width, height);
  let seen = { width, height };
  if (!box) {
    seen = centreWindow(width, height);
    box = await within(seen);
  }
  // Small in the view it was found in (the frame, or its middle half).
  if (box && isSmallFace(box, seen.width, seen.height)) {
    box = (await within(windowAround(box, width, height))) || box;
  }
  return box;
}

/** The face with `margin` of its size on each side (the frame's border replicated), as 48x48 grey. */
export function cropFace(gray, width, height, box, margin = FACE_MARGIN) {
  const padX = Math.trunc(box.width * margin);
  const padY = Math.trunc(box.height * margin);
  const x0 = box.x - padX;
  const y0 = box.y - padY;
  const x1 = box.x + box.width + padX;
  const y1 = box.y + box.height + padY;
  const cropWidth = x1 - x0;
  const cropHeight = y1 - y0;
  const region = new Uint8Array(cropWidth * cropHeight);
  for (let y = 0; y < cropHeight; y += 1) {
    const sy = Math.min(height - 1, Math.max(0, y0 + y));
    for (let x = 0; x < cropWidth; x += 1) {
      const sx = Math.min(width - 1, Math.max(0, x0 + x));
      region[y * cropWidth + x] = gray[sy * width + sx];
    }
  }
  return resizeArea(region, cropWidth, cropHeight, FACE_SIZE, FACE_SIZE);
}

/** The expression model's input: the 40x40 centre of the 48x48 crop, raw 0-255 values (network.centre_crop). */
export function networkInput(face) {
  const margin = (FACE_SIZE - NETWORK_SIZE) / 2;
  const input = new Float32Array(NETWORK_SIZE * NETWORK_SIZE);
  for (let y = 0; y < NETWORK_SIZE; y += 1) {
    for (let x = 0; x < NETWORK_SIZE; x += 1) {
      input[y * NETWORK_SIZE + x] = face[(y + margin) * FACE_SIZE + x + margin];
    }
  }
  return input;
}
