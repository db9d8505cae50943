// The draft playground of a visitor not signed in: editors only. Invoke is a plain form POST
// (it makes the guest learner), so nothing here talks to the server. Until then the draft is
// kept in this browser (localStorage), so a reload never loses an edit.
(function () {
  "use strict";

  const DRAFT_DELAY_MS = 500;

  function draftKey() {
    return "coldstart-draft:" + window.location.pathname;
  }

  function keepDraft(code) {
    let timer = null;
    code.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        try { window.localStorage.setItem(draftKey(), code.value); } catch (e) { /* storage off: no draft */ }
      }, DRAFT_DELAY_MS);
    });
    const form = code.form;
    if (form) {
      form.addEventListener("submit", function () {
        try { window.localStorage.removeItem(draftKey()); } catch (e) { /* nothing kept */ }
      });
    }
  }

  function restoreDraft(code) {
    let saved = null;
    try { saved = window.localStorage.getItem(draftKey()); } catch (e) { return; }
    if (saved !== null && saved !== code.value) code.value = saved;
  }

  document.addEventListener("DOMContentLoaded", function () {
    const code = document.getElementById("code");
    const event = document.getElementById("event");
    if (code) restoreDraft(code);  // before the editor copies the textarea
    if (window.ColdstartEditor) {
      if (code) window.ColdstartEditor.attach(code, "python");
      if (event) window.ColdstartEditor.attach(event, "json");
    }
    if (code) keepDraft(code);
  });
})();
