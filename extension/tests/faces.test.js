import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import {
  ANCHORS,
  cropFace,
  DETECTOR_SIZE,
  decodedSize,
  findFace,
  grayFromRGBA,
  letterbox,
  networkInput,
  roundHalfEven,
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
