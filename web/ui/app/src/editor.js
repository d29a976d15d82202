// The PromQL editor: CodeMirror with @prometheus-io/codemirror-promql for
// highlighting, linting and completion, the completion fed by our own
// /api/v1/labels, /label/__name__/values, /series and /metadata.
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { EditorState } from '@codemirror/state';
import { history, defaultKeymap, historyKeymap, insertNewline } from '@codemirror/commands';
import { autocompletion, closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching } from '@codemirror/language';
import { lintKeymap } from '@codemirror/lint';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { apiBase } from './api.js';
import { tenantHeaders } from './tenant.js';

let promql;
function promqlExtension() {
  // One client for every panel, so its metric and label cache is shared.
  if (!promql) {
    promql = new PromQLExtension().setComplete({
      remote: {
        url: apiBase(),
        requestHeaders: new Headers(tenantHeaders()),
        httpErrorHandler: (err) => console.warn('PromQL completion:', err),
      },
    });
  }
  return promql.asExtension();
}

// newEditor mounts an editor in parent; onRun is called on Enter (Shift-Enter
// inserts a newline) and the result has get/set for the expression.
export function newEditor(parent, doc, onRun) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        history(),
        closeBrackets(),
        bracketMatching(),
        autocompletion(),
        syntaxHighlighting(defaultHighlightStyle),
        placeholder('Enter expression (press Shift+Enter for newlines)'),
        EditorView.lineWrapping,
        keymap.of([
          { key: 'Enter', run: () => { onRun(); return true; } },
          { key: 'Shift-Enter', run: insertNewline },
          ...closeBracketsKeymap, ...historyKeymap, ...lintKeymap, ...defaultKeymap,
        ]),
        promqlExtension(),
      ],
    }),
  });
  return {
    get: () => view.state.doc.toString(),
    set: (s) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: s } }),
    focus: () => view.focus(),
  };
}
