// On phones the signed-in navigation folds behind a Menu button (without script it simply stays open).
"use strict";

(function () {
  function start() {
    const nav = document.querySelector(".site-nav-collapsible");
    const toggle = nav && nav.querySelector(".nav-toggle");
    if (!toggle) {
      return;
    }
    function show(open) {
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("is-collapsed", !open);
    }
    nav.classList.add("has-menu");
    show(false);
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      show(toggle.getAttribute("aria-expanded") !== "true");
    });
    // Escape closes an open menu and gives the focus back to its button.
    nav.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        show(false);
        toggle.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
