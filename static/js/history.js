// The history chart: a stacked bar chart of expression shares per hour/day/week (Chart.js,
// vendored). Data comes from the page itself (json_script), so no inline script is needed (CSP).
"use strict";

(function () {
  // The expression colours come from the shared theme (static/css/theme.css), as everywhere else.
  function colours() {
    const style = getComputedStyle(document.documentElement);
    const found = {};
    for (const emotion of ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]) {
      found[emotion] = style.getPropertyValue("--emotion-" + emotion).trim();
    }
    return found;
  }

  function draw() {
    const source = document.getElementById("history-data");
    const canvas = document.getElementById("mood-chart");
    if (!source || !canvas || typeof Chart === "undefined") {
      return;
    }
    const report = JSON.parse(source.textContent);
    const COLOURS = colours();
    const series = report.series;
    // One palette: the same full colours as the share bars and the day's strip; sadness at the bottom.
    const datasets = report.emotions.map(function (emotion) {
      return {
        label: emotion.charAt(0).toUpperCase() + emotion.slice(1),
        data: series.shares[emotion],
        backgroundColor: COLOURS[emotion],
        borderWidth: 0,
        stack: "shares",
        order: emotion === "sad" ? 0 : 1,
      };
    });
    canvas.dataset.points = String(series.labels.length);
    // Reduced motion: no animation at all.
    const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    const chart = new Chart(canvas, {
      type: "bar",
      data: { labels: series.labels, datasets: datasets },
      options: {
        animation: still ? false : { duration: 300 },
        maintainAspectRatio: false,
        responsive: true,
        scales: {
          x: { stacked: true, ticks: { autoSkip: true, maxRotation: 0 } },
          y: { stacked: true, min: 0, max: 100, ticks: { callback: (value) => value + "%" } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: (item) => item.dataset.label + ": " + item.formattedValue + "%",
              footer: (items) => {
                const minutes = series.minutes[items[0].dataIndex];
                return minutes === null ? "" : minutes + " observed minutes";
              },
            },
          },
        },
      },
    });
    canvas.dataset.rendered = chart ? "true" : "false";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
