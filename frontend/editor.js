// CodeMirror 6 over a plain <textarea>: the textarea stays the source of truth for forms and
// htmx (every change is copied back), so the page still works when this bundle does not load.
import { basicSetup, EditorView } from "codemirror";
import { keymap } from "@codemirror/view";
import { Prec } from "@codemirror/state";
import { indentWithTab } from "@codemirror/commands";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";
import { python } from "@codemirror/lang-python";
import { json } from "@codemirror/lang-json";

// Colours come from CSS variables (static/css/coldstart.css), so the editor follows the page's
// light or dark theme (prefers-color-scheme) with no JavaScript.
const colours = HighlightStyle.define([
  { tag: tags.keyword, color: "var(--cm-keyword)" },
  { tag: [tags.atom, tags.bool, tags.null, tags.url, tags.labelName], color: "var(--cm-atom)" },
  { tag: [tags.literal, tags.number, tags.inserted], color: "var(--cm-number)" },
  { tag: [tags.string, tags.deleted], color: "var(--cm-string)" },
  { tag: [tags.regexp, tags.escape, tags.special(tags.string)], color: "var(--cm-escape)" },
  { tag: [tags.definition(tags.variableName), tags.function(tags.definition(tags.variableName))], color: "var(--cm-definition)" },
  { tag: [tags.typeName, tags.namespace, tags.className], color: "var(--cm-type)" },
  { tag: [tags.special(tags.variableName), tags.macroName, tags.self], color: "var(--cm-special)" },
  { tag: [tags.propertyName, tags.definition(tags.propertyName)], color: "var(--cm-property)" },
  { tag: tags.comment, color: "var(--cm-comment)", fontStyle: "italic" },
  { tag: tags.invalid, color: "var(--bad)" },
]);

const chrome = EditorView.theme({
  "&": { color: "var(--ink)", backgroundColor: "var(--editor-bg)" },
  ".cm-content": { caretColor: "var(--ink)" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--ink)", borderLeftWidth: "2px" },
  ".cm-gutters": { backgroundColor: "var(--editor-gutter)", color: "var(--muted)", borderRight: "1px solid var(--line)" },
  ".cm-activeLine, .cm-activeLineGutter": { backgroundColor: "var(--editor-active-line)" },
  "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground":
    { backgroundColor: "var(--editor-selection)" },
});

// Ctrl/Cmd+Enter runs `onRun` and nothing else: basicSetup's keymap binds Mod-Enter to
// "insert a blank line", so this binding needs the highest precedence to be tried first.
function runKey(onRun) {
  return Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => { onRun(); return true; } }]));
}

function attach(textarea, language, options) {
  const lang = language === "json" ? json() : python();
  const onRun = options && options.onRun;
  const view = new EditorView({
    doc: textarea.value,
    extensions: [
      ...(onRun ? [runKey(onRun)] : []),
      basicSetup,
      chrome,
      syntaxHighlighting(colours),
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
