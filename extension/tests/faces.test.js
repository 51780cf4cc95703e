import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import {
  ANCHORS,
  centreWindow,
  cropFace,
  cropWindow,
  DETECTOR_SIZE,
  decodedSize,
  findFace,
  grayFromRGBA,
  isSmallFace,
  letterbox,
  locateFace,
  networkInput,
  roundHalfEven,
  windowAround,
} from "../lib/faces.js";

// Written from the server's inference/ code (tests/inference/test_face_vectors.py).
const vectors = JSON.parse(readFileSync(new URL("./vectors/faces.json", import.meta.url), "utf8"));
const unpack = (text) => new Uint8Array(Buffer.from(text, "base64"));

function frame(width, height) {
  const gray = new Uint8Array(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      gray[y * width + x] = (x * 7 + y * 13 + ((x * y) % 31) * 5) % 256;
    }
  }
  return gray;
}

function largestDifference(a, b) {
  assert.equal(a.length, b.length);
  let most = 0;
  for (let i = 0; i < a.length; i += 1) {
    most = Math.max(most, Math.abs(a[i] - b[i]));
  }
  return most;
}

function outputs(detections) {
  const regressors = new Float32Array(896 * 16);
  const logits = new Float32Array(896).fill(-10);
  for (const [anchor, dx, dy, w, h, logit] of detections) {
    regressors.set([dx, dy, w, h], anchor * 16);
    logits[anchor] = logit;
  }
  return { regressors, logits };
}

test("the anchors are the server's", () => {
  const sum = ANCHORS.reduce((total, [x, y]) => total + x + y, 0);
  assert.equal(ANCHORS.length, 896);
  assert.ok(Math.abs(sum - vectors.anchors_checksum) < 1e-3);
});

for (const expected of vectors.frames) {
  const { width, height } = expected;
  const gray = frame(width, height);

  test(`the detector's input is the server's letterbox, ${width}x${height}`, () => {
    const box = letterbox(gray, width, height);
    assert.equal(box.scale, expected.letterbox.scale);
    assert.deepEqual([box.padX, box.padY], [expected.letterbox.pad_x, expected.letterbox.pad_y]);
    const canvas = new Uint8Array(DETECTOR_SIZE * DETECTOR_SIZE);
    for (let i = 0; i < canvas.length; i += 1) {
      canvas[i] = Math.round((box.input[i * 3] + 1) * 127.5);
    }
    assert.equal(largestDifference(canvas, unpack(expected.letterbox.canvas)), 0);
  });

  test(`the face crops are the server's, ${width}x${height}`, () => {
    for (const { box: [x, y, w, h], crop } of expected.crops) {
      const face = cropFace(gray, width, height, { x, y, width: w, height: h });
      assert.equal(largestDifference(face, unpack(crop)), 0, `box ${[x, y, w, h]}`);
      const input = networkInput(face);
      assert.equal(input.length, 1600);
      assert.equal(input[0], face[4 * 48 + 4]);
    }
  });

  test(`the face found is the server's, ${width}x${height}`, () => {
    const { scale, padX, padY } = letterbox(gray, width, height);
    vectors.detections.forEach((detections, index) => {
      const face = findFace(outputs(detections), { width, height, scale, padX, padY });
      const found = face && [face.x, face.y, face.width, face.height];
      assert.deepEqual(found, expected.faces[index]);
    });
  });
}

test("grey is OpenCV's fixed-point BT.601", () => {
  const rgba = new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 200, 100, 50, 255]);
  assert.deepEqual([...grayFromRGBA(rgba, 4, 1)], [76, 150, 29, 124]);
});

test("frames are read at the size the server decodes them", () => {
  assert.deepEqual(decodedSize(640, 480), { width: 640, height: 480 });
  assert.deepEqual(decodedSize(320, 240), { width: 320, height: 240 });
  assert.deepEqual(decodedSize(1280, 960), { width: 640, height: 480 });
  assert.deepEqual(decodedSize(1920, 1080), { width: 960, height: 540 });
  assert.deepEqual(decodedSize(3840, 2160), { width: 960, height: 540 });
});

test("rounding is Python's", () => {
  assert.deepEqual([0.5, 1.5, 2.5, 2.4, 2.6, 3.5].map(roundHalfEven), [0, 2, 2, 2, 3, 4]);
});

for (const expected of vectors.windows) {
  const { width, height } = expected;
  test(`the second looks are where the server's are, ${width}x${height}`, () => {
    const centre = centreWindow(width, height);
    assert.deepEqual([centre.x, centre.y, centre.width, centre.height], expected.centre);
    for (const { box, window, small } of expected.around) {
      const face = { x: box[0], y: box[1], width: box[2], height: box[3] };
      const around = windowAround(face, width, height);
      assert.deepEqual([around.x, around.y, around.width, around.height], window);
      assert.equal(isSmallFace(face, width, height), small);
    }
  });
}

test("a window's pixels are the frame's", () => {
  const gray = frame(20, 10);
  const part = cropWindow(gray, 20, { x: 3, y: 2, width: 5, height: 4 });
  assert.equal(part.length, 20);
  assert.equal(part[0], gray[2 * 20 + 3]);
  assert.equal(part[19], gray[5 * 20 + 7]);
});

// A scripted detector: each look answers the next box (in the pixels it was given) and records what it saw.
function scripted(answers) {
  const looks = [];
  const look = async (gray, width, height) => {
    looks.push([width, height, gray[0]]);
    return answers.shift() ?? null;
  };
  return { looks, look };
}

test("a face close to the camera is found in one look", async () => {
  const { looks, look } = scripted([{ x: 200, y: 100, width: 200, height: 220 }]);
  assert.deepEqual(await locateFace(frame(640, 480), 640, 480, look), { x: 200, y: 100, width: 200, height: 220 });
  assert.equal(looks.length, 1);
});

test("a small face is boxed again in a window around it, in frame pixels", async () => {
  const { looks, look } = scripted([
    { x: 300, y: 200, width: 60, height: 70 },
    { x: 92, y: 83, width: 58, height: 66 },
  ]);
  const gray = frame(640, 480);
  const box = await locateFace(gray, 640, 480, look);
  // The window is 240x240 at (210, 115): the second box is moved back by its corner.
  assert.deepEqual(box, { x: 302, y: 198, width: 58, height: 66 });
  assert.deepEqual(looks[1], [240, 240, gray[115 * 640 + 210]]);
});

test("a small face the closer look misses keeps its first box", async () => {
  const { look } = scripted([{ x: 300, y: 200, width: 60, height: 70 }, null]);
  assert.deepEqual(await locateFace(frame(640, 480), 640, 480, look), { x: 300, y: 200, width: 60, height: 70 });
});

test("a frame where the whole view finds nothing is looked at again in its middle half", async () => {
  const { looks, look } = scripted([null, { x: 150, y: 100, width: 40, height: 44 }, { x: 80, y: 78, width: 42, height: 46 }]);
  const box = await locateFace(frame(640, 480), 640, 480, look);
  // The middle half starts at (160, 120); the face found there, at (310, 220), is small, so it gets
  // its closer look too: a 160x160 window at (250, 162).
  assert.deepEqual(looks.map(([w, h]) => [w, h]), [[640, 480], [320, 240], [160, 160]]);
  assert.deepEqual(box, { x: 330, y: 240, width: 42, height: 46 });
});

test("an empty frame costs two looks and finds nothing", async () => {
  const { looks, look } = scripted([null, null]);
  assert.equal(await locateFace(frame(640, 480), 640, 480, look), null);
  assert.equal(looks.length, 2);
});

test("a face the middle half finds big enough in it gets no third look", async () => {
  const { looks, look } = scripted([null, { x: 120, y: 80, width: 70, height: 76 }]);
  assert.deepEqual(await locateFace(frame(640, 480), 640, 480, look), { x: 280, y: 200, width: 70, height: 76 });
  assert.equal(looks.length, 2);
});
