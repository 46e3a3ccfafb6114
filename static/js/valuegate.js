// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Relative times: <time datetime="..." data-relative> shows "3 h ago" with the exact time on hover.
  function relative(el) {
    var then = new Date(el.getAttribute("datetime"));
    if (isNaN(then)) return;
    var diff = (then - new Date()) / 1000;
    var abs = Math.abs(diff);
    var units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];
    var fmt = new Intl.RelativeTimeFormat(document.documentElement.lang || "en", { numeric: "auto" });
    var text = fmt.format(Math.round(diff), "second");
    for (var i = 0; i < units.length; i++) {
      if (abs >= units[i][1]) { text = fmt.format(Math.round(diff / units[i][1]), units[i][0]); break; }
    }
    if (!el.title) el.title = el.textContent.trim();
    el.textContent = text;
  }
  function enhance(root) {
    root.querySelectorAll("time[data-relative]").forEach(relative);
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (e) { enhance(e.target); });
})();
