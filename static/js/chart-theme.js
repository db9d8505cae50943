// What the Monitor and Power tuning charts share: the theme's colours (static/css/coldstart.css,
// light or dark as the system prefers), axes in those colours, and number formats.
(function () {
  "use strict";

  function color(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // An axis drawn in the theme's ink with its grid lines.
  function axis(options) {
    return Object.assign({
      stroke: color("--chart-text", "#495057"),
      grid: { stroke: color("--chart-grid", "#dee2e6"), width: 1 },
      ticks: { stroke: color("--chart-grid", "#dee2e6"), width: 1 },
    }, options || {});
  }

  function fmtMs(v) {
    if (v == null) return "—";
    return (v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2)) + " ms";
  }

  // Small dollar amounts (a millionth of a cent is common) in plain digits, not 1e-9.
  function fmtUsd(v) {
    if (v == null) return "—";
    if (v === 0) return "$0";
    if (v >= 0.01) return "$" + v.toFixed(4);
    const digits = Math.min(14, 2 - Math.floor(Math.log10(v))); // three significant digits
    return "$" + v.toFixed(digits);
  }

  function plural(n, word, many) {
    return n + " " + (n === 1 ? word : (many || word + "s"));
  }

  window.ColdstartCharts = { color, axis, fmtMs, fmtUsd, plural };
})();
