/**
 * Where the cursor stands in a YAML document, found from the lines around it without parsing the
 * document: while a person types, the document usually does not parse, and in an 8 MB document a
 * parse per keystroke would block the editor. The enclosing keys are found by scanning upward by
 * indentation (bounded), the position inside a flow collection by scanning the cursor's line.
 */

/** Lines by index: VS Code's TextDocument.lineAt, or a split text. No copy of the whole document. */
export interface LineSource {
  readonly lineCount: number;
  line(index: number): string;
}

export function linesOfText(text: string): LineSource {
  const lines = text.split(/\r\n|\r|\n/);
  return { lineCount: lines.length, line: (i) => lines[i] ?? '' };
}

export type PathSegment = string | number;

export interface CursorContext {
  /** The mapping (or list) the cursor's entry belongs to. */
  parentPath: PathSegment[];
  /** The key of the cursor's entry, when the line (or the flow mapping) has one before the cursor's spot. */
  key?: string;
  /** 'key': the cursor is on (or where one types) a key; 'value': on the value of `key` (or a list item). */
  position: 'key' | 'value';
  /** The path of the node under the cursor: parentPath + key (+ list index for an item). */
  path: PathSegment[];
  /** The word at the cursor (columns on its line), quotes excluded: what completion replaces, what hover names. */
  word: { text: string; start: number; end: number };
  /** The value is an item of a list (flow `[a, b]` or block `- a`): the items already written. */
  list?: { items: string[] };
  /** Inside a flow collection on this line. */
  flow: boolean;
  /** Columns the entries of the enclosing block mapping are indented by (for inserted lines). */
  indent: number;
  /** The value position is right after the colon with no space yet (`status:|`). */
  needsSpace: boolean;
  /** Keys already present in the enclosing mapping, other than the cursor's own (scans neighbours once asked). */
  presentKeys(): string[];
}

/** How far up the enclosing keys are looked for: a topics mapping of 200,000 entries still resolves. */
export const MAX_SCAN_LINES = 250_000;
/** How many neighbouring lines are read for the keys already present. */
const MAX_SIBLING_LINES = 5_000;

function leadingSpaces(line: string): number {
  let i = 0;
  while (i < line.length && line.charCodeAt(i) === 32) i++;
  return i;
}

function isBlankOrComment(line: string, lead: number): boolean {
  return lead >= line.length || line.charCodeAt(lead) === 35 /* # */ || line.charCodeAt(lead) === 9; /* a tab: not indentation YAML allows */
}

/** `- ` sequence dashes at the start of `content`: how many columns they take. */
function dashes(line: string, from: number): number {
  let at = from;
  while (line.charCodeAt(at) === 45 /* - */ && (at + 1 >= line.length || line.charCodeAt(at + 1) === 32)) {
    at++;
    while (line.charCodeAt(at) === 32) at++;
  }
  return at - from;
}

function unquote(key: string): string {
  if (key.length >= 2 && ((key[0] === '"' && key.endsWith('"')) || (key[0] === "'" && key.endsWith("'")))) {
    return key[0] === "'" ? key.slice(1, -1).replace(/''/g, "'") : key.slice(1, -1).replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return key;
}

const KEY_RE = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\-[\]{},][^#]*?|-[^\s#][^#]*?)[ \t]*:(?=[ \t]|$)/;

/** The key at `from` on a line (`key:` followed by a space or the end), with the column of its colon. */
function keyAt(line: string, from: number): { key: string; colon: number } | undefined {
  const match = KEY_RE.exec(line.slice(from));
  if (!match) return undefined;
  const key = match[1].trimEnd();
  if (key.startsWith('[') || key.startsWith('{')) return undefined;
  return { key: unquote(key), colon: from + match[0].length - 1 };
}

/**
 * The keys (and list indexes) of the block mapping holding an entry at column `column` of line
 * `line`, scanning up; with `itemAt`, the path of the list item whose dashes stand at that column
 * on line `line`. Undefined when the scan ran past its bound.
 */
export function enclosingPath(source: LineSource, line: number, column: number, itemAt?: number): PathSegment[] | undefined {
  const path: PathSegment[] = [];
  // 'entry': looking for what holds an entry at `col`; 'item': counting the items of a list whose dashes stand at `col`.
  let mode: 'entry' | 'item' = itemAt === undefined ? 'entry' : 'item';
  let col = itemAt ?? column;
  let index = 0;
  const stop = Math.max(0, line - MAX_SCAN_LINES);
  for (let i = line - 1; i >= 0; i--) {
    if (i < stop) return undefined;
    const text = source.line(i);
    const lead = leadingSpaces(text);
    if (isBlankOrComment(text, lead)) continue;
    if (lead === 0 && (text.startsWith('---') || text.startsWith('...'))) break;
    const dash = dashes(text, lead);
    const content = lead + dash;
    if (mode === 'entry') {
      if (lead >= col) continue;
      if (dash > 0 && content === col) {
        // `- key: v`: the first entry of the list item our mapping is.
        mode = 'item';
        col = lead;
        index = 0;
        continue;
      }
      const parent = keyAt(text, content);
      if (!parent || content > col) continue; // a continuation line of a multi-line scalar
      path.unshift(parent.key);
      if (dash > 0) {
        mode = 'item';
        col = lead;
        index = 0;
      } else {
        col = lead;
        if (lead === 0) return path;
      }
      continue;
    }
    // mode 'item'
    if (lead > col) continue;
    if (lead === col && dash > 0) {
      index++;
      continue;
    }
    path.unshift(index);
    const parent = keyAt(text, content);
    if (!parent || content > col) return path;
    path.unshift(parent.key);
    if (dash > 0) {
      col = lead;
      index = 0;
    } else {
      mode = 'entry';
      col = lead;
      if (lead === 0) return path;
    }
  }
  if (mode === 'item') path.unshift(index);
  return path;
}

/** The keys at column `indent` of the block mapping holding line `line` (not that line's own). */
export function siblingKeys(source: LineSource, line: number, indent: number): string[] {
  const keys: string[] = [];
  const collect = (i: number): boolean => {
    const text = source.line(i);
    const lead = leadingSpaces(text);
    if (isBlankOrComment(text, lead)) return true;
    if (lead === 0 && (text.startsWith('---') || text.startsWith('...'))) return false;
    if (lead > indent) return true;
    if (lead === indent) {
      if (dashes(text, lead) > 0) return false; // the next item of the enclosing list
      const k = keyAt(text, lead);
      if (k) keys.push(k.key);
      return true;
    }
    // A shallower line: `- key: v` opening our item still holds a key of ours.
    const dash = dashes(text, lead);
    if (dash > 0 && lead + dash === indent) {
      const k = keyAt(text, indent);
      if (k) keys.push(k.key);
    }
    return false;
  };
  for (let i = line - 1; i >= Math.max(0, line - MAX_SIBLING_LINES); i--) {
    if (!collect(i)) break;
    // The item's own first line ended the upward scan when it held a key: nothing above belongs to us.
  }
  for (let i = line + 1; i < Math.min(source.lineCount, line + MAX_SIBLING_LINES); i++) {
    const text = source.line(i);
    const lead = leadingSpaces(text);
    if (!isBlankOrComment(text, lead) && lead < indent) break;
    if (!collect(i)) break;
  }
  return keys;
}

/** The scalar items of the block list whose dashes stand at `lead`, other than line `line`'s own. */
function blockItems(source: LineSource, line: number, lead: number): string[] {
  const items: string[] = [];
  const visit = (i: number): boolean => {
    const text = source.line(i);
    const l = leadingSpaces(text);
    if (isBlankOrComment(text, l) || l > lead) return true;
    if (l < lead || dashes(text, l) === 0) return false;
    const item = text.slice(l + dashes(text, l)).replace(/\s+#.*$/, '').trim();
    if (item && !keyAt(item, 0)) items.push(unquote(item));
    return true;
  };
  for (let i = line - 1; i >= Math.max(0, line - MAX_SIBLING_LINES) && visit(i); i--);
  for (let i = line + 1; i < Math.min(source.lineCount, line + MAX_SIBLING_LINES) && visit(i); i++);
  return items;
}

const WORD_BREAK = /[\s,[\]{}"'#]/;

function wordAt(line: string, character: number, from: number): { text: string; start: number; end: number } {
  let start = Math.min(character, line.length);
  let end = start;
  while (start > from && !WORD_BREAK.test(line[start - 1])) start--;
  while (end < line.length && !WORD_BREAK.test(line[end])) end++;
  // A key's word stops at its colon.
  const colon = line.slice(start, end).search(/:(\s|$)/);
  if (colon >= 0 && start + colon >= character) end = start + colon;
  return { text: line.slice(start, end), start, end };
}

interface FlowFrame {
  kind: 'map' | 'list';
  key?: string;
  afterColon: boolean;
  keys: string[];
  items: string[];
  index: number;
  token: string;
}

/**
 * The cursor inside a flow collection that opens on its line (`[a, b]`, `{requires: [], status: x}`):
 * the path inside it and what is already written.
 */
function flowContext(line: string, from: number, character: number): { path: PathSegment[]; top: FlowFrame } | undefined {
  const stack: FlowFrame[] = [];
  let quote = '';
  const frame = (kind: 'map' | 'list'): FlowFrame => ({ kind, afterColon: false, keys: [], items: [], index: 0, token: '' });
  const limit = Math.min(character, line.length);
  for (let i = from; i < limit; i++) {
    const c = line[i];
    const top = stack[stack.length - 1];
    if (quote) {
      if (c === quote) quote = '';
      if (top) top.token += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      if (top) top.token += c;
      continue;
    }
    if (c === '#' && (i === 0 || line[i - 1] === ' ')) return undefined;
    if (c === '[' || c === '{') {
      stack.push(frame(c === '[' ? 'list' : 'map'));
      continue;
    }
    if (!top) continue;
    if (c === ']' || c === '}') {
      stack.pop();
      const parent = stack[stack.length - 1];
      if (parent) parent.token = '\u0000'; // a nested collection was the value
      continue;
    }
    if (c === ',') {
      if (top.kind === 'list') {
        if (top.token.trim()) top.items.push(unquote(top.token.trim()));
        top.index++;
      } else {
        if (!top.afterColon && top.token.trim()) top.keys.push(unquote(top.token.trim()));
        top.afterColon = false;
        top.key = undefined;
      }
      top.token = '';
      continue;
    }
    if (c === ':' && top.kind === 'map' && !top.afterColon && (i + 1 >= line.length || /[\s,[\]{}]/.test(line[i + 1]))) {
      top.key = unquote(top.token.trim());
      top.keys.push(top.key);
      top.afterColon = true;
      top.token = '';
      continue;
    }
    top.token += c;
  }
  if (stack.length === 0) return undefined;
  const path: PathSegment[] = [];
  for (const f of stack.slice(0, -1)) path.push(f.kind === 'list' ? f.index : (f.key ?? ''));
  const top = stack[stack.length - 1];
  // The items after the cursor count as written too (`[a, |, b]`).
  if (top.kind === 'list') {
    let depth = 0;
    let token = '';
    for (let i = limit; i < line.length; i++) {
      const c = line[i];
      if (c === '[' || c === '{') depth++;
      else if ((c === ']' || c === '}') && depth-- === 0) break;
      else if (c === ',' && depth === 0) {
        if (token.trim()) top.items.push(unquote(token.trim()));
        token = '';
        continue;
      }
      if (depth === 0 && c !== ']') token += c;
    }
    if (token.trim()) top.items.push(unquote(token.trim()));
  }
  return { path, top };
}

/** The context at a 0-based line and UTF-16 column; undefined inside a comment or past the scan bound. */
export function cursorContext(source: LineSource, line: number, character: number): CursorContext | undefined {
  if (line < 0 || line >= source.lineCount) return undefined;
  const text = source.line(line);
  const before = text.slice(0, character);
  if (/(^|\s)#/.test(before.replace(/"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'/g, (q) => 'x'.repeat(q.length)))) return undefined;
  let lead = leadingSpaces(text);
  if (lead >= text.length) lead = Math.min(character, text.length);
  if (lead === 0 && (text.startsWith('---') || text.startsWith('...')) && character <= 3) return undefined;
  const dash = dashes(text, lead);
  const contentAt = lead + dash;
  const itemOfList = dash > 0;
  // On an item line (`- a`, `- key: v`) the path runs through the item; otherwise through the mapping.
  const base = itemOfList ? enclosingPath(source, line, contentAt, lead) : enclosingPath(source, line, contentAt);
  if (!base) return undefined;
  const entryKey = keyAt(text, contentAt);
  const indent = contentAt;
  const presentKeysOf = (exclude: string | undefined) => () => siblingKeys(source, line, indent).filter((k) => k !== exclude);
  const valueStart = entryKey ? entryKey.colon + 1 : contentAt;

  if (entryKey && character > entryKey.colon) {
    // The value of the line's key: plain, or inside a flow collection.
    const flow = flowContext(text, valueStart, character);
    if (flow) {
      const inner = [...base, entryKey.key, ...flow.path];
      const word = wordAt(text, character, valueStart);
      if (flow.top.kind === 'list') {
        return { parentPath: inner, key: undefined, position: 'value', path: [...inner, flow.top.index], word, list: { items: flow.top.items }, flow: true, indent, needsSpace: false, presentKeys: () => [] };
      }
      const keys = flow.top.keys;
      if (flow.top.afterColon) {
        return { parentPath: inner, key: flow.top.key, position: 'value', path: [...inner, flow.top.key ?? ''], word, flow: true, indent, needsSpace: false, presentKeys: () => keys.filter((k) => k !== flow.top.key) };
      }
      return { parentPath: inner, key: undefined, position: 'key', path: inner, word, flow: true, indent, needsSpace: false, presentKeys: () => keys };
    }
    const word = wordAt(text, character, valueStart);
    return {
      parentPath: base,
      key: entryKey.key,
      position: 'value',
      path: [...base, entryKey.key],
      word,
      flow: false,
      indent,
      needsSpace: character === entryKey.colon + 1 && (text.length === character || text[character] !== ' '),
      presentKeys: presentKeysOf(entryKey.key),
    };
  }
  if (itemOfList && !entryKey && !/^\s*[^\s:]+:/.test(text.slice(contentAt))) {
    // `- value`: an item of a block list; its parent is the key above the dashes.
    const word = wordAt(text, character, contentAt);
    return { parentPath: base.slice(0, -1), key: undefined, position: 'value', path: base, word, list: { items: blockItems(source, line, lead) }, flow: false, indent: lead, needsSpace: false, presentKeys: () => [] };
  }
  // A key, or where one is being typed.
  const word = wordAt(text, character, contentAt);
  const key = entryKey?.key ?? (word.text || undefined);
  return {
    parentPath: base,
    key,
    position: 'key',
    path: key !== undefined ? [...base, key] : base,
    word,
    flow: false,
    indent,
    needsSpace: false,
    presentKeys: presentKeysOf(entryKey?.key),
  };
}

/**
 * The keys of the mapping at `path`, found by scanning the lines from the top by indentation
 * (bounded): block entries, or the top-level keys of a flow mapping written on the key's line.
 * For a document that does not parse, where no data is at hand. Undefined when not found.
 */
export function blockMappingKeys(source: LineSource, path: readonly PathSegment[], maxLines = MAX_SCAN_LINES): string[] | undefined {
  if (path.some((s) => typeof s === 'number')) return undefined;
  const stack: { indent: number; key: string }[] = [];
  let found: { indent: number; keys: string[]; childIndent: number } | undefined;
  const end = Math.min(source.lineCount, maxLines);
  for (let i = 0; i < end; i++) {
    const text = source.line(i);
    const lead = leadingSpaces(text);
    if (isBlankOrComment(text, lead)) continue;
    if (lead === 0 && (text.startsWith('---') || text.startsWith('...'))) {
      if (found) break;
      stack.length = 0;
      continue;
    }
    if (found) {
      if (lead <= found.indent) break;
      if (found.childIndent < 0) found.childIndent = lead;
      if (lead === found.childIndent && dashes(text, lead) === 0) {
        const k = keyAt(text, lead);
        if (k) found.keys.push(k.key);
      }
      continue;
    }
    // Inside an entry off the path (the topics of a pools section): nothing below it is on the way.
    const top = stack[stack.length - 1];
    if (top && lead > top.indent && (stack.length >= path.length || top.key !== path[stack.length - 1])) continue;
    if (dashes(text, lead) > 0) continue; // lists are not on the way to a mapping by keys
    const k = keyAt(text, lead);
    if (!k) continue;
    while (stack.length > 0 && stack[stack.length - 1].indent >= lead) stack.pop();
    stack.push({ indent: lead, key: k.key });
    if (stack.length === path.length && stack.every((s, j) => s.key === path[j])) {
      const rest = text.slice(k.colon + 1).trim();
      if (rest.startsWith('{')) {
        const body = rest.replace(/\s*(#.*)?$/, '').replace(/}$/, '');
        const flow = flowContext(body, 0, body.length);
        return flow ? [...flow.top.keys] : [];
      }
      found = { indent: lead, keys: [], childIndent: -1 };
    }
  }
  return found?.keys;
}
