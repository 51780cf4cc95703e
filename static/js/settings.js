// Settings: say the sadness threshold and the quiet hours in plain words as they change.
"use strict";

(function () {
  const start = document.getElementById("id_enc-quiet_hours_start");
  const end = document.getElementById("id_enc-quiet_hours_end");
  const quiet = document.getElementById("quiet-words");

  function minutesOf(value) {
    const match = /^(\d{1,2}):(\d{2})/.exec(value);
    return match ? Number(match[1]) * 60 + Number(match[2]) : null;
  }

  function duration(minutes) {
    const hours = Math.floor(minutes / 60);
    const rest = minutes % 60;
    const parts = [];
    if (hours) {
      parts.push(hours + (hours === 1 ? " hour" : " hours"));
    }
    if (rest) {
      parts.push(rest + (rest === 1 ? " minute" : " minutes"));
    }
    return parts.join(" ");
  }

  // Quiet hours may wrap midnight (22:00 until 07:00); a start after the end is said plainly.
  function describeQuiet() {
    const from = minutesOf(start.value);
    const until = minutesOf(end.value);
    let text;
    if (from === null && until === null) {
      text = "No quiet hours: a nudge may come at any time of day.";
    } else if (from === null || until === null) {
      text = "Give both times, or leave both empty.";
    } else if (from === until) {
      text = "The two times must differ.";
    } else {
      const length = (until - from + 1440) % 1440;
      text = "No nudges from " + start.value + " until " + end.value + (until < from ? " the next day" : "") +
        ": " + duration(length) + " of quiet every day.";
      if (length >= 18 * 60) {
        text += " That is most of the day: check that the times are the right way round.";
      }
    }
    quiet.textContent = text;
    quiet.hidden = false;
  }

  if (start && end && quiet) {
    start.addEventListener("input", describeQuiet);
    end.addEventListener("input", describeQuiet);
    describeQuiet();
  }

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
