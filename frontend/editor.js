// CodeMirror 6 over a plain <textarea>: the textarea stays the source of truth for forms and
// htmx (every change is copied back), so the page still works when this bundle does not load.
import { basicSetup, EditorView } from "codemirror";
import { keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { json } from "@codemirror/lang-json";

function attach(textarea, language) {
  const lang = language === "json" ? json() : python();
  const view = new EditorView({
    doc: textarea.value,
    extensions: [
      basicSetup,
      keymap.of([indentWithTab]),
      lang,
      EditorView.updateListener.of((update) => {
        if (update.docChanged) {
          textarea.value = update.state.doc.toString();
          textarea.dispatchEvent(new Event("input", { bubbles: true }));
        }
      }),
    ],
  });
  textarea.style.display = "none";
  textarea.after(view.dom);
  textarea.codemirror = view;
  return view;
}

function setValue(textarea, value) {
  textarea.value = value;
  const view = textarea.codemirror;
  if (view) {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
  }
}

window.ColdstartEditor = { attach, setValue };
