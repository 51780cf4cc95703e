// Private mode's reading: the server's two models, run on this computer by LiteRT.js (WebAssembly,
// vendored in vendor/litert/, no download at run time) on the steps of lib/faces.js. Frames stay in
// this document's memory; only lib/windows.js's summaries leave it.

import { loadAndCompile, loadLiteRt, Tensor } from "../vendor/litert/litert.js";
import { EMOTIONS } from "./protocol.js";
import { cropFace, DETECTOR_SIZE, findFace, letterbox, locateFace, NETWORK_SIZE, networkInput } from "./faces.js";
import { roundScore } from "./windows.js";

export const DETECTOR_MODEL = "models/face_detection_short_range.tflite";
export const EMOTION_MODEL = "models/emotion_model.tflite";

let loading = null;

async function outputs(model, input) {
  const result = await model.run(input);
  const arrays = [];
  for (const tensor of result) {
    // On the CPU the output already lives in wasm memory: read it out, then free it.
    arrays.push(tensor.toTypedArray().slice());
    tensor.delete();
  }
  return arrays;
}

export class FaceReader {
  constructor(detector, scorer) {
    this.detector = detector;
    this.scorer = scorer;
  }

  /** Load the runtime and both models once; `base` is the extension's root URL. */
  static async create(base) {
    if (!loading) {
      loading = loadLiteRt(new URL("vendor/litert/litert_wasm_internal.js", base).href);
    }
    await loading;
    const options = { accelerator: "wasm" };
    const [detector, scorer] = await Promise.all([
      loadAndCompile(new URL(DETECTOR_MODEL, base).href, options),
      loadAndCompile(new URL(EMOTION_MODEL, base).href, options),
    ]);
    return new FaceReader(detector, scorer);
  }

  /** One pass of the detector over grey pixels: the largest confident face in them, or null. */
  async look(gray, width, height) {
    const box = letterbox(gray, width, height);
    const detectorInput = new Tensor(box.input, [1, DETECTOR_SIZE, DETECTOR_SIZE, 3]);
    try {
      const [first, second] = await outputs(this.detector, detectorInput);
      // regressors (1, 896, 16) and classificators (1, 896, 1), told apart by size.
      const [regressors, logits] = first.length > second.length ? [first, second] : [second, first];
      return findFace({ regressors, logits }, { width, height, scale: box.scale, padX: box.padX, padY: box.padY });
    } finally {
      detectorInput.delete();
    }
  }

  /** One grey frame -> {face: false} or {face: true, scores} with the server's seven calibrated scores. */
  async read(gray, width, height) {
    const found = await locateFace(gray, width, height, (pixels, w, h) => this.look(pixels, w, h));
    if (!found) {
      return { face: false };
    }
    const input = new Tensor(networkInput(cropFace(gray, width, height, found)), [1, NETWORK_SIZE, NETWORK_SIZE, 1]);
    try {
      const [scores] = await outputs(this.scorer, input);
      return { face: true, scores: Object.fromEntries(EMOTIONS.map((e, i) => [e, roundScore(scores[i])])) };
    } finally {
      input.delete();
    }
  }
}
