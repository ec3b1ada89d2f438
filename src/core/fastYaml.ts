import type { JsonValue } from './canonical';
import { LocatedBuilder, LocatedValue, MAX_NESTING_DEPTH } from './documentModel';
import type { Span } from './problems';

/**
 * A fast reader for the block-YAML subset that config documents are written in: block mappings and
 * sequences, one-line plain and quoted scalars, one-line flow collections, comments. It resolves
 * plain scalars exactly like the `yaml` package's YAML 1.2 core schema.
 *
 * Why: the `yaml` package's parser costs about 0.5 s per MB here, far over the authoring budget.
 * Anything outside the subset (anchors, tags, block scalars, multi-line scalars, directives, any
 * syntax error, nesting past the limit) makes this reader give up, and the caller parses with
 * `yaml`, which reports errors precisely. Property tests check that both readers agree wherever this one answers.
 */

class Unsupported {}
const UNSUPPORTED = new Unsupported();

interface Line {
  lineStart: number;
  indent: number;
  contentStart: number;
  lineEnd: number; // offset of '\r' or '\n' ending the line, or text length
  next: number; // offset of the following line
}

const NULL_RE = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL_RE = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const OCT_RE = /^0o[0-7]+$/;
const INT_RE = /^[-+]?[0-9]+$/;
const HEX_RE = /^0x[0-9a-fA-F]+$/;
const NAN_RE = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const EXP_RE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT_RE = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** A plain scalar's value under the YAML 1.2 core schema, as the `yaml` package resolves it. */
export function resolvePlainScalar(raw: string): string | number | boolean | null {
  const c = raw.charCodeAt(0);
  // Only these first characters can start a non-string; most scalars are plain words.
  const maybeSpecial = raw.length === 0 || c === 126 || c === 43 || c === 45 || c === 46 || (c >= 48 && c <= 57) || c === 110 || c === 78 || c === 116 || c === 84 || c === 102 || c === 70;
  if (!maybeSpecial) return raw;
  if (NULL_RE.test(raw)) return null;
  if (BOOL_RE.test(raw)) return raw[0] === 't' || raw[0] === 'T';
  if (OCT_RE.test(raw)) return parseInt(raw.substring(2), 8);
  if (INT_RE.test(raw)) return parseInt(raw, 10);
  if (HEX_RE.test(raw)) return parseInt(raw.substring(2), 16);
  if (NAN_RE.test(raw)) return raw.slice(-3).toLowerCase() === 'nan' ? NaN : raw[0] === '-' ? -Infinity : Infinity;
  if (EXP_RE.test(raw) || FLOAT_RE.test(raw)) return parseFloat(raw);
  return raw;
}

const DOUBLE_QUOTE_ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
  ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029',
};
const HEX_ESCAPE_LENGTH: Record<string, number> = { x: 2, u: 4, U: 8 };

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** End of a token: whitespace, line end or end of text. */
function isBreakOrBlank(text: string, i: number): boolean {
  if (i >= text.length) return true;
  const c = text.charCodeAt(i);
  return c === 32 || c === 9 || c === 10 || c === 13;
}

// Characters that cannot start a plain scalar (YAML c-indicator), bar '-', '?', ':' handled apart.
const INDICATOR_START = new Set(['[', ']', '{', '}', ',', '#', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`']);

class FastReader {
  private pos = 0;
  private depth = 0;
  readonly builder = new LocatedBuilder();

  constructor(private readonly text: string) {}

  read(): LocatedValue {
    const text = this.text;
    // A byte-order mark, or a carriage return that is not part of CRLF (yaml reads those its own way).
    if (text.charCodeAt(0) === 0xfeff || /\r(?!\n)/.test(text)) throw UNSUPPORTED;
    let line = this.peekContent();
    if (line && line.indent === 0 && this.isMarker(line, '---')) {
      this.expectOnlyComment(line.contentStart + 3, line.lineEnd);
      this.pos = line.next;
      line = this.peekContent();
    }
    if (!line) return new LocatedValue(null, { start: 0, end: 0 }, this.builder.locations);
    const start = line.contentStart;
    const value = this.isSequenceEntry(line) ? this.parseSequence(line.indent) : this.parseMapping(line.indent, undefined);
    if (this.peekContent()) throw UNSUPPORTED; // content left over: let `yaml` explain it
    const end = this.lastEnd;
    return new LocatedValue(value, { start, end }, this.builder.locations);
  }

  private lastEnd = 0;

  /** The next line with content (comments and blank lines skipped), without consuming it. */
  private peekContent(): Line | undefined {
    const text = this.text;
    let p = this.pos;
    while (p < text.length) {
      const lineStart = p;
      while (p < text.length && text.charCodeAt(p) === 32) p++;
      const indent = p - lineStart;
      let q = p;
      while (q < text.length && isBlank(text.charCodeAt(q))) q++;
      let lineEnd = text.indexOf('\n', q);
      const next = lineEnd === -1 ? text.length : lineEnd + 1;
      if (lineEnd === -1) lineEnd = text.length;
      if (lineEnd > q && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
      if (q >= lineEnd || text.charCodeAt(q) === 35 /* # */) {
        p = next;
        continue;
      }
      if (q !== p) throw UNSUPPORTED; // a tab in the indentation
      const result: Line = { lineStart, indent, contentStart: p, lineEnd, next };
      if (indent === 0 && (this.isMarker(result, '---') || this.isMarker(result, '...'))) throw UNSUPPORTED;
      if (indent === 0 && text.charCodeAt(p) === 37 /* % */) throw UNSUPPORTED;
      return result;
    }
    return undefined;
  }

  /** The indentation of the next non-blank line, comment lines included (for continuation checks). */
  private nextNonBlankIndent(): number {
    const text = this.text;
    let p = this.pos;
    while (p < text.length) {
      const lineStart = p;
      while (p < text.length && isBlank(text.charCodeAt(p))) p++;
      const c = text.charCodeAt(p);
      if (p < text.length && c !== 10 && c !== 13) return p - lineStart;
      const lineEnd = text.indexOf('\n', p);
      if (lineEnd === -1) return -1;
      p = lineEnd + 1;
    }
    return -1;
  }

  private isMarker(line: Line, marker: string): boolean {
    return this.text.startsWith(marker, line.contentStart) && isBreakOrBlank(this.text, line.contentStart + 3);
  }

  private isSequenceEntry(line: Line): boolean {
    return this.text.charCodeAt(line.contentStart) === 45 /* - */ && isBreakOrBlank(this.text, line.contentStart + 1);
  }

  private expectOnlyComment(from: number, lineEnd: number): void {
    let p = from;
    while (p < lineEnd && isBlank(this.text.charCodeAt(p))) p++;
    if (p < lineEnd && !(this.text.charCodeAt(p) === 35 && p > from)) throw UNSUPPORTED;
  }

  /** One more level of nesting; past the limit the complete reader reports it at its place. */
  private enter(): void {
    if (++this.depth > MAX_NESTING_DEPTH) throw UNSUPPORTED;
  }

  private skipBlanks(p: number, lineEnd: number): number {
    while (p < lineEnd && isBlank(this.text.charCodeAt(p))) p++;
    return p;
  }

  private parseMapping(indent: number, firstKey: { at: number; line: Line } | undefined): JsonValue {
    const text = this.text;
    const builder = this.builder;
    const start = firstKey ? firstKey.at : (this.peekContent() as Line).contentStart;
    this.enter();
    const object = builder.newObject(start);
    let pending = firstKey;
    for (;;) {
      let keyStart: number;
      let line: Line;
      if (pending) {
        keyStart = pending.at;
        line = pending.line;
        pending = undefined;
      } else {
        const next = this.peekContent();
        if (!next || next.indent < indent) break;
        if (next.indent > indent) throw UNSUPPORTED;
        if (this.isSequenceEntry(next)) break; // a sequence at this indent belongs to the parent key
        line = next;
        keyStart = next.contentStart;
      }
      const key = this.parseKey(keyStart, line.lineEnd);
      const valueStart = this.skipBlanks(key.afterColon, line.lineEnd);
      let value: JsonValue;
      let valueSpan: Span;
      if (valueStart >= line.lineEnd || text.charCodeAt(valueStart) === 35) {
        this.pos = line.next;
        this.lastEnd = key.afterColon;
        [value, valueSpan] = this.parseIndentedBlock(indent, true, key.afterColon);
      } else {
        [value, valueSpan] = this.parseInlineValue(valueStart, line, indent);
      }
      if (typeof key.value === 'string') {
        builder.addMember(object, key.value, key.span.start, key.span.end, value, valueSpan.start, valueSpan.end);
      } else {
        builder.nonStringKey(key.span, key.value);
      }
    }
    builder.finish(object, this.lastEnd);
    this.depth--;
    return object;
  }

  /** A value on the lines below a key or dash: a nested block, or null when there is none. */
  private parseIndentedBlock(parentIndent: number, allowSequenceAtSameIndent: boolean, emptyAt: number): [JsonValue, Span] {
    const line = this.peekContent();
    if (line && line.indent > parentIndent) {
      const start = line.contentStart;
      const value = this.isSequenceEntry(line) ? this.parseSequence(line.indent) : this.parseMapping(line.indent, undefined);
      return [value, { start, end: this.lastEnd }];
    }
    if (line && allowSequenceAtSameIndent && line.indent === parentIndent && this.isSequenceEntry(line)) {
      const start = line.contentStart;
      const value = this.parseSequence(line.indent);
      return [value, { start, end: this.lastEnd }];
    }
    return [null, { start: emptyAt, end: emptyAt }];
  }

  private parseSequence(indent: number): JsonValue {
    const text = this.text;
    const builder = this.builder;
    const first = this.peekContent() as Line;
    this.enter();
    const array = builder.newArray(first.contentStart);
    for (;;) {
      const line = this.peekContent();
      if (!line || line.indent < indent) break;
      if (line.indent > indent) throw UNSUPPORTED;
      if (!this.isSequenceEntry(line)) break;
      const p = this.skipBlanks(line.contentStart + 1, line.lineEnd);
      let value: JsonValue;
      let span: Span;
      if (p >= line.lineEnd || text.charCodeAt(p) === 35) {
        this.pos = line.next;
        this.lastEnd = line.contentStart + 1;
        [value, span] = this.parseIndentedBlock(indent, false, line.contentStart + 1);
      } else if (text.charCodeAt(p) === 45 && isBreakOrBlank(text, p + 1)) {
        throw UNSUPPORTED; // "- - x": nested compact sequences
      } else if (this.looksLikeKey(p, line.lineEnd)) {
        value = this.parseMapping(p - line.lineStart, { at: p, line });
        span = { start: p, end: this.lastEnd };
      } else {
        [value, span] = this.parseInlineValue(p, line, indent);
      }
      builder.addItem(array, value, span.start, span.end);
    }
    builder.finish(array, this.lastEnd);
    this.depth--;
    return array;
  }

  /** A scalar or flow collection that starts and ends on this line; consumes the line. */
  private parseInlineValue(p: number, line: Line, containerIndent: number): [JsonValue, Span] {
    const text = this.text;
    const c = text[p];
    let value: JsonValue;
    let end: number;
    if (c === '"' || c === "'") {
      [value, end] = c === '"' ? this.parseDoubleQuoted(p, line.lineEnd) : this.parseSingleQuoted(p, line.lineEnd);
    } else if (c === '[' || c === '{') {
      [value, end] = this.parseFlow(p, line.lineEnd);
    } else {
      [value, end] = this.parsePlainBlockScalar(p, line.lineEnd);
    }
    this.expectOnlyComment(end, line.lineEnd);
    this.pos = line.next;
    this.lastEnd = end;
    // A deeper line below would continue a multi-line scalar (or be an error): leave both to `yaml`.
    if (this.nextNonBlankIndent() > containerIndent) throw UNSUPPORTED;
    return [value, { start: p, end }];
  }

  private parsePlainBlockScalar(p: number, lineEnd: number): [JsonValue, number] {
    const text = this.text;
    const c = text[p];
    if (INDICATOR_START.has(c) || ((c === '-' || c === '?' || c === ':') && isBreakOrBlank(text, p + 1))) throw UNSUPPORTED;
    let q = p;
    let end = p;
    while (q < lineEnd) {
      const ch = text.charCodeAt(q);
      if (ch === 35 /* # */ && isBlank(text.charCodeAt(q - 1))) break;
      if (ch === 58 /* : */ && isBreakOrBlank(text, q + 1)) throw UNSUPPORTED; // "a: b: c"
      if (!isBlank(ch)) end = q + 1;
      q++;
    }
    const raw = text.slice(p, end);
    return [this.scalarValue(resolvePlainScalar(raw), { start: p, end }, raw), end];
  }

  private scalarValue(value: string | number | boolean | null, span: Span, raw: string): JsonValue {
    return typeof value === 'number' ? this.builder.checkNumber(value, span, raw) : value;
  }

  /** Whether a mapping key starts at p: a one-line scalar followed by ':' and a blank or line end. */
  private looksLikeKey(p: number, lineEnd: number): boolean {
    const text = this.text;
    const c = text[p];
    if (c === '"' || c === "'") {
      try {
        const [, end] = c === '"' ? this.parseDoubleQuoted(p, lineEnd) : this.parseSingleQuoted(p, lineEnd);
        const q = this.skipBlanks(end, lineEnd);
        return text.charCodeAt(q) === 58 && isBreakOrBlank(text, q + 1);
      } catch (e) {
        if (e === UNSUPPORTED) return false;
        throw e;
      }
    }
    if (INDICATOR_START.has(c)) return false;
    for (let q = p; q < lineEnd; q++) {
      const ch = text.charCodeAt(q);
      if (ch === 35 && q > p && isBlank(text.charCodeAt(q - 1))) return false;
      if (ch === 58 && isBreakOrBlank(text, q + 1)) return true;
    }
    return false;
  }

  private parseKey(p: number, lineEnd: number): { value: string | number | boolean | null; span: Span; afterColon: number } {
    const text = this.text;
    const c = text[p];
    let value: string | number | boolean | null;
    let end: number;
    let colon: number;
    if (c === '"' || c === "'") {
      [value, end] = c === '"' ? this.parseDoubleQuoted(p, lineEnd) : this.parseSingleQuoted(p, lineEnd);
      colon = this.skipBlanks(end, lineEnd);
      if (text.charCodeAt(colon) !== 58 || !isBreakOrBlank(text, colon + 1)) throw UNSUPPORTED;
    } else {
      if (INDICATOR_START.has(c) || ((c === '-' || c === '?' || c === ':') && isBreakOrBlank(text, p + 1))) throw UNSUPPORTED;
      colon = -1;
      end = p;
      for (let q = p; q < lineEnd; q++) {
        const ch = text.charCodeAt(q);
        if (ch === 35 && isBlank(text.charCodeAt(q - 1))) throw UNSUPPORTED;
        if (ch === 58 && isBreakOrBlank(text, q + 1)) {
          colon = q;
          break;
        }
        if (!isBlank(ch)) end = q + 1;
      }
      if (colon === -1) throw UNSUPPORTED; // a scalar where a key belongs
      value = resolvePlainScalar(text.slice(p, end));
    }
    if (colon - p > 1024) throw UNSUPPORTED; // YAML caps implicit keys at 1024 characters
    return { value, span: { start: p, end }, afterColon: colon + 1 };
  }

  private parseDoubleQuoted(p: number, lineEnd: number): [string, number] {
    const text = this.text;
    let out = '';
    let runStart = p + 1;
    for (let q = p + 1; q < lineEnd; q++) {
      const ch = text[q];
      if (ch === '"') return [out + text.slice(runStart, q), q + 1];
      if (ch !== '\\') continue;
      out += text.slice(runStart, q);
      const e = text[q + 1];
      const simple = DOUBLE_QUOTE_ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        q += 1;
      } else if (HEX_ESCAPE_LENGTH[e] !== undefined) {
        const digits = text.slice(q + 2, q + 2 + HEX_ESCAPE_LENGTH[e]);
        if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== HEX_ESCAPE_LENGTH[e]) throw UNSUPPORTED;
        const code = parseInt(digits, 16);
        if (code > 0x10ffff) throw UNSUPPORTED;
        out += String.fromCodePoint(code);
        q += 1 + digits.length;
      } else {
        throw UNSUPPORTED; // a bad escape or a line break: `yaml` reports it
      }
      runStart = q + 1;
    }
    throw UNSUPPORTED; // not closed on this line
  }

  private parseSingleQuoted(p: number, lineEnd: number): [string, number] {
    const text = this.text;
    let out = '';
    let runStart = p + 1;
    for (let q = p + 1; q < lineEnd; q++) {
      if (text[q] !== "'") continue;
      if (text[q + 1] === "'") {
        out += text.slice(runStart, q + 1);
        q++;
        runStart = q + 1;
        continue;
      }
      return [out + text.slice(runStart, q), q + 1];
    }
    throw UNSUPPORTED;
  }

  /** A flow collection closed on the same line: `[]`, `[a, "b"]`, `{a: 1, b: [x]}`. */
  private parseFlow(p: number, lineEnd: number): [JsonValue, number] {
    const text = this.text;
    const builder = this.builder;
    const isSequence = text[p] === '[';
    const close = isSequence ? ']' : '}';
    this.enter();
    const container = isSequence ? builder.newArray(p) : builder.newObject(p);
    let q = this.skipBlanks(p + 1, lineEnd);
    if (text[q] === close) {
      builder.finish(container, q + 1);
      this.depth--;
      return [container, q + 1];
    }
    for (;;) {
      if (isSequence) {
        const [value, end] = this.parseFlowNode(q, lineEnd, true);
        builder.addItem(container as JsonValue[], value, q, end);
        q = this.skipBlanks(end, lineEnd);
      } else {
        const keyStart = q;
        const c = text[q];
        let key: string | number | boolean | null;
        let keyEnd: number;
        if (c === '"' || c === "'") {
          [key, keyEnd] = c === '"' ? this.parseDoubleQuoted(q, lineEnd) : this.parseSingleQuoted(q, lineEnd);
          q = this.skipBlanks(keyEnd, lineEnd);
          if (text[q] !== ':') throw UNSUPPORTED;
        } else {
          const [raw, rawEnd] = this.scanFlowPlain(q, lineEnd);
          key = resolvePlainScalar(raw);
          keyEnd = rawEnd;
          q = this.skipBlanks(rawEnd, lineEnd);
          if (text[q] !== ':' || !isBreakOrBlank(text, q + 1)) throw UNSUPPORTED;
        }
        q = this.skipBlanks(q + 1, lineEnd);
        const [value, end] = this.parseFlowNode(q, lineEnd, false);
        const keySpan = { start: keyStart, end: keyEnd };
        if (typeof key === 'string') builder.addMember(container as { [key: string]: JsonValue }, key, keyStart, keyEnd, value, q, end);
        else builder.nonStringKey(keySpan, key);
        q = this.skipBlanks(end, lineEnd);
      }
      if (text[q] === ',') {
        q = this.skipBlanks(q + 1, lineEnd);
        if (text[q] === close || q >= lineEnd) throw UNSUPPORTED;
        continue;
      }
      if (text[q] === close) {
        builder.finish(container, q + 1);
        this.depth--;
        return [container, q + 1];
      }
      throw UNSUPPORTED;
    }
  }

  private parseFlowNode(q: number, lineEnd: number, inSequence: boolean): [JsonValue, number] {
    const text = this.text;
    const c = text[q];
    if (q >= lineEnd) throw UNSUPPORTED;
    if (c === '"') return this.parseDoubleQuoted(q, lineEnd);
    if (c === "'") return this.parseSingleQuoted(q, lineEnd);
    if (c === '[' || c === '{') return this.parseFlow(q, lineEnd);
    const [raw, end] = this.scanFlowPlain(q, lineEnd);
    if (inSequence && text[this.skipBlanks(end, lineEnd)] === ':') throw UNSUPPORTED; // "[a: b]" pairs
    return [this.scalarValue(resolvePlainScalar(raw), { start: q, end }, raw), end];
  }

  /** A plain scalar inside a flow collection: it ends at , [ ] { } or ": ". */
  private scanFlowPlain(q: number, lineEnd: number): [string, number] {
    const text = this.text;
    const c = text[q];
    if (INDICATOR_START.has(c) || ((c === '-' || c === '?' || c === ':') && isBreakOrBlank(text, q + 1))) throw UNSUPPORTED;
    let end = q;
    let r = q;
    for (; r < lineEnd; r++) {
      const ch = text[r];
      if (ch === ',' || ch === '[' || ch === ']' || ch === '{' || ch === '}') break;
      if (ch === ':' && (isBreakOrBlank(text, r + 1) || ',[]{}'.includes(text[r + 1]))) break;
      if (ch === '#' && isBlank(text.charCodeAt(r - 1))) throw UNSUPPORTED;
      if (ch !== ' ' && ch !== '\t') end = r + 1;
    }
    if (r >= lineEnd || end === q) throw UNSUPPORTED;
    return [text.slice(q, end), end];
  }
}

export interface FastParseResult {
  located: LocatedValue;
  problems: LocatedBuilder['problems'];
}

/** Reads the subset, or returns undefined when the text needs the full YAML parser. */
export function parseYamlFast(text: string): FastParseResult | undefined {
  const reader = new FastReader(text);
  try {
    const located = reader.read();
    return { located, problems: reader.builder.problems };
  } catch (e) {
    if (e === UNSUPPORTED) return undefined;
    throw e;
  }
}
