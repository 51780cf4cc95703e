// Settings: say the sadness threshold in plain words as the slider moves.
"use strict";

(function () {
  const slider = document.getElementById("id_enc-sadness_threshold");
  const words = document.getElementById("threshold-words");
  if (!slider || !words) {
    return;
  }
  function describe() {
    const percent = Math.round(Number(slider.value) * 100);
    let feel = "a middle setting";
    if (percent <= 30) {
      feel = "sensitive: nudges come even for mild sadness";
    } else if (percent >= 70) {
      feel = "reserved: only strong, lasting sadness brings a nudge";
    }
    words.textContent =
      "Threshold " + percent + "%: a nudge when, on average, at least " + percent +
      "% of your expression reads as sad for the whole sustained period (" + feel + ").";
  }
  slider.addEventListener("input", describe);
  describe();
})();
