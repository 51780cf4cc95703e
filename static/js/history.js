// The history chart: a stacked bar chart of expression shares per hour/day/week (Chart.js,
// vendored). Data comes from the page itself (json_script), so no inline script is needed (CSP).
// And the sessions' quarter hours open in place (below).
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

  // A session's quarter hours are links (?minutes=<key>#m-<key>) that the server answers with that
  // quarter hour open, so they work without script. With script, the page is fetched in the
  // background and only the quarter hours that change are swapped: no reload, no jump.
  async function toggleGroup(event) {
    const link = event.target.closest("a.group-toggle");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    let fresh;
    try {
      const response = await fetch(link.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    } catch (error) {
      window.location.assign(link.href); // the plain link still works
      return;
    }
    const key = link.dataset.group;
    const changed = new Set([key]);
    for (const open of document.querySelectorAll(".minute-group .session-minutes")) {
      changed.add(open.closest(".minute-group").id.slice(2));
    }
    for (const name of changed) {
      const mine = document.getElementById("m-" + name);
      const theirs = fresh.getElementById("m-" + name);
      if (mine && theirs) {
        mine.replaceWith(document.importNode(theirs, true));
      }
    }
    window.history.replaceState(null, "", link.href);
    const toggle = document.querySelector("#m-" + CSS.escape(key) + " a.group-toggle");
    if (toggle) {
      toggle.focus();
    }
  }

  function start() {
    draw();
    document.addEventListener("click", toggleGroup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
