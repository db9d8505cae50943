// The draft playground of a visitor not signed in: editors only. Invoke is a plain form POST
// (it makes the guest learner), so nothing here talks to the server.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.ColdstartEditor) return;
    const code = document.getElementById("code");
    const event = document.getElementById("event");
    if (code) window.ColdstartEditor.attach(code, "python");
    if (event) window.ColdstartEditor.attach(event, "json");
  });
})();
