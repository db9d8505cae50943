// Lesson pages: the learner's playground sits in a same-origin iframe. Its chrome is hidden,
// links that would leave the lesson open in a new tab, and "Check" sends the code currently
// in the editor (so a learner never has to remember to invoke before checking).
(function () {
  "use strict";

  const FRAME_CSS = `
    .topbar, .footer, .weak-isolation, .api-box { display: none !important; }
    main { padding: 12px 14px !important; max-width: none !important; }
    .pg-title h1 { font-size: 20px; margin: 0; }
  `;

  function frameDocument() {
    const frame = document.getElementById("playground-frame");
    try { return frame && frame.contentDocument; } catch (err) { return null; }
  }

  function adoptFrame() {
    const doc = frameDocument();
    if (!doc || !doc.head) return;
    if (!doc.getElementById("lesson-frame-css")) {
      const style = doc.createElement("style");
      style.id = "lesson-frame-css";
      style.textContent = FRAME_CSS;
      doc.head.appendChild(style);
    }
    doc.querySelectorAll("a[href]").forEach((a) => {
      const href = a.getAttribute("href");
      if (href && href.startsWith("/") && !a.hasAttribute("hx-get")) {
        a.target = "_blank";
        a.rel = "noopener";
      }
    });
    document.body.dataset.playground = "ready";
  }

  function setup() {
    const frame = document.getElementById("playground-frame");
    if (frame) {
      frame.addEventListener("load", adoptFrame);
      if (frame.contentDocument && frame.contentDocument.readyState === "complete") adoptFrame();
    }
    document.body.addEventListener("htmx:configRequest", function (evt) {
      if (!evt.detail.elt || evt.detail.elt.id !== "check-form") return;
      const doc = frameDocument();
      const form = doc && doc.getElementById("function-form");
      if (!form) return;
      for (const name of ["code", "handler", "memory_mb", "timeout_s"]) {
        const field = form.elements[name];
        if (field) evt.detail.parameters[name] = field.value;
      }
    });
    // A refusal (429: too many new guests from this address) is shown where the result goes.
    document.body.addEventListener("htmx:beforeSwap", function (evt) {
      if (evt.detail.xhr.status === 429) {
        evt.detail.shouldSwap = true;
        evt.detail.isError = false;
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (evt) {
      if (evt.detail.target && evt.detail.target.id === "check-result") {
        const passed = evt.detail.target.querySelector(".check-pass");
        const current = document.querySelector(".step-nav li.current");
        if (passed && current) {
          current.classList.add("passed");
          const link = current.querySelector("a");
          if (link) link.textContent = "✓";
          const next = current.nextElementSibling;
          const nextLink = document.getElementById("next-step");
          if (next && next.classList.contains("locked") && nextLink) {
            next.classList.remove("locked");
            const number = [...next.parentNode.children].indexOf(next) + 1;
            const a = document.createElement("a");
            a.href = nextLink.getAttribute("href");
            a.textContent = String(number);
            next.replaceChildren(a);
          }
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
