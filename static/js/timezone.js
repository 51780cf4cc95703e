// Time zones from the browser: proposed at sign-up, offered on the dashboard when the account's differs,
// pre-selected on Settings when the dashboard's offer was taken. Nothing changes without the person's
// own click on Sign up or Save settings.
"use strict";

(function () {
  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, function (option) {
      return option.value === value;
    });
  }

  function say(select, id, text) {
    let note = document.getElementById(id);
    if (!note) {
      note = document.createElement("p");
      note.id = id;
      note.className = "hint zone-note";
      note.setAttribute("aria-live", "polite");
      select.insertAdjacentElement("afterend", note);
      const described = (select.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      described.push(id);
      select.setAttribute("aria-describedby", described.join(" "));
    }
    note.textContent = text;
  }

  // Sign-up: a fresh form starts in the browser's zone, and says so.
  function proposeAtSignUp() {
    const select = document.querySelector("form[data-zone-from-browser] select[name='time_zone']");
    const zone = browserZone();
    if (!select || !zone || select.value === zone || !hasOption(select, zone)) {
      return;
    }
    select.value = zone;
    say(select, "zone-from-browser", "Set from your browser: " + zone + ". Change it if that is not where you are.");
  }

  // Dashboard: a gentle prompt when the browser's zone is not the account's.
  function promptOnDashboard() {
    const prompt = document.getElementById("zone-prompt");
    const zone = browserZone();
    if (!prompt || !zone || zone === prompt.dataset.accountZone) {
      return;
    }
    const dismissed = "smile-zone-dismissed:" + prompt.dataset.accountZone + ">" + zone;
    try {
      if (window.localStorage.getItem(dismissed)) {
        return;
      }
    } catch (error) {
      // Storage may be off; the prompt then simply shows.
    }
    document.getElementById("zone-browser").textContent = zone;
    const use = document.getElementById("zone-use");
    use.href = prompt.dataset.settingsUrl + "?time_zone=" + encodeURIComponent(zone) + "#tz-title";
    use.textContent = "Use " + zone;
    document.getElementById("zone-dismiss").addEventListener("click", function () {
      try {
        window.localStorage.setItem(dismissed, "1");
      } catch (error) {
        // Not remembered: it shows again next time.
      }
      prompt.hidden = true;
    });
    prompt.hidden = false;
  }

  // Settings: the zone the dashboard offered, selected and waiting for Save.
  function preselectOnSettings() {
    const select = document.getElementById("id_tz-time_zone");
    const wanted = new URLSearchParams(window.location.search).get("time_zone");
    if (!select || !wanted || !hasOption(select, wanted) || select.value === wanted) {
      return;
    }
    select.value = wanted;
    say(select, "zone-offered", "Changed to " + wanted + ", your browser's time zone. Press Save settings to keep it.");
  }

  function start() {
    proposeAtSignUp();
    promptOnDashboard();
    preselectOnSettings();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
