// Demo mode for a projector: the function's live environment timeline and counters, drawn
// with the scaling page's own functions (window.ColdstartScale), large enough for the back row.
(function () {
  "use strict";

  function setup() {
    const url = document.body.dataset.metricsUrl;
    const canvas = document.getElementById("demo-timeline");
    const empty = document.getElementById("demo-empty");
    async function poll() {
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (response.ok) {
          const m = await response.json();
          const draw = window.ColdstartScale;
          if (draw) {
            draw.setStats(m, document);
            const set = (k, v) => { document.querySelector(`[data-stat="${k}"]`).textContent = v; };
            set("live", m.lanes.filter((l) => l.to == null).length);
            set("gb", m.gb_seconds.toFixed(3));
            set("usd", draw.fmtUsd(m.cost_usd) + " so far");
            draw.drawTimeline(m, canvas, { emptyEl: empty, fontSize: 22, laneHeight: 40, labelWidth: 150 });
          }
          document.body.dataset.state = "live";
        }
      } catch (err) {
        document.body.dataset.state = "offline";
      }
      setTimeout(poll, 1000);
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
