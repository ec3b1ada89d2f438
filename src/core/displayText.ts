/**
 * Text that came from the network (Redis values, NATS reports, server errors) made safe to show.
 *
 * A replica id, a `published_by` or an error message is written by whoever can reach Redis or NATS.
 * Printed raw, an ESC sequence can recolour or clear a terminal, move the cursor to fake a line,
 * or set the window title; a C1 control (U+0080-U+009F) does the same on terminals that honour
 * 8-bit controls; a bidi override (U+202A-U+202E, U+2066-U+2069) reorders what follows it, so that
 * `sim-1‮sync ni` reads "in sync" in a tree label. Each such character is shown as a visible
 * escape instead (`\x1b`, `\u202e`, `\n`), never dropped: the reader sees that something was there.
 */

// C0 (including tab and newline: a table cell or a label is one line), DEL, C1, the bidi
// embeddings/overrides/isolates and the line/paragraph separators, which break lines like \n.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control character and bidi override shown as a visible escape. */
export function displayText(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

// JSON.stringify escapes C0 already; C1 controls and bidi controls it writes raw.
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON for a terminal: the same values as JSON.stringify (a script reading it gets the exact
 * strings back), with the characters JSON leaves raw written as \u escapes.
 */
export function terminalSafeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What VS Code's label renderer takes for an icon (`$(name)`, `$(name~spin)`). */
const ICON = /\$\([A-Za-z0-9-]+(?:~[A-Za-z]+)?\)/g;

/**
 * displayText for a label that renders `$(name)` as an icon (a CodeLens title, status bar text, a
 * quick pick): each icon escaped as `\$(name)`, which VS Code shows as written, so that a
 * `published_by` of `$(check)` cannot draw a tick that DriftLens never meant. Only icons: the
 * renderer shows the backslash of any other `\$(`.
 */
export function iconLabelText(text: string): string {
  return displayText(text).replace(ICON, '\\$&');
}
