// Live countdowns: each .countdown carries the moment it counts to; the page reads fine without this script.
"use strict";
(function () {
  function text(ms) {
    if (ms <= 0) return "now";
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60), r = s % 60;
    var parts = d > 0 ? [d + "d", h + "h", m + "m"] : h > 0 ? [h + "h", m + "m", r + "s"] : [m + "m", r + "s"];
    return "in " + parts.join(" ");
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-until]").forEach(function (el) {
      el.textContent = text(Date.parse(el.getAttribute("data-until")) - now);
      el.classList.add("live");
    });
  }
  tick();
  setInterval(tick, 1000);
})();
