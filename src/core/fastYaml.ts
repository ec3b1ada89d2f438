import type { JsonValue } from './canonical';
import { LocatedBuilder, LocatedValue, MAX_NESTING_DEPTH } from './documentModel';
import type { Problem, Span } from './problems';
import { MAX_ALIAS_EXPANSION_NODES } from './yamlCompose';
import { coreTag, unsupportedTag, type CoreTag } from './yamlTags';

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

/** A node's properties: `&anchor` and `!tag`, in either order, before its content. */
interface Props {
  anchor?: string;
  tag?: CoreTag | 'other';
  /** Offset right after the last property (where an empty node stands). */
  end: number;
}

/** What an anchored node gives each alias to it, so that aliases cost nothing to read. */
interface Anchor {
  value: JsonValue;
  /** Nodes the `yaml` path converts when it expands an alias to this node (its alias-bomb count). */
  nodes: number;
  /** Levels of collections inside (an alias deepens the document by that much). */
  height: number;
  /** Problems found inside (duplicate keys, numbers): the `yaml` path reports them again per alias. */
  problems: Problem[];
}

const KIND_PLAIN = 0;
const KIND_QUOTED = 1;

function isBreak(c: number): boolean {
  return c === 10 || c === 13;
}

function isFlowIndicator(c: number): boolean {
  return c === 44 || c === 91 || c === 93 || c === 123 || c === 125;
}

class FastReader {
  private pos = 0;
  private depth = 0;
  /** Flow collections open around the current position. */
  private flowDepth = 0;
  /** The deepest nesting reached (for the height of anchored nodes). */
  private deepest = 0;
  /** Value nodes read so far, aliases counted as the nodes they expand to. */
  private nodes = 0;
  /** Nodes added by alias expansion, as the `yaml` path counts them against its alias-bomb limit. */
  private expanded = 0;
  private anchors: Map<string, Anchor> | undefined;
  /** Tag problems stand apart: they are said once per tag, however often an alias repeats the node. */
  readonly tagProblems: Problem[] = [];
  /** Start of the `---` or `...` line that ended the document's content (-1: the end of the text did). */
  private markerAt = -1;
  private peekPos = -1;
  private peekLine: Line | undefined;
  readonly builder = new LocatedBuilder();

  constructor(private readonly text: string) {}

  read(): LocatedValue {
    const text = this.text;
    // A carriage return that is not part of CRLF: `yaml` reads it as text (document.ts maps it first).
    if (text.indexOf('\r') !== -1 && /\r(?!\n)/.test(text)) throw UNSUPPORTED;
    // A blank line whose indentation ends in a tab: `yaml` reads the tab as indentation (an error)
    // or not, by its column and what follows (an empty value, an empty document). Rare: left to it.
    for (let t = text.indexOf('\t'); t !== -1; t = text.indexOf('\t', t + 1)) {
      let s = t;
      while (s > 0 && text.charCodeAt(s - 1) === 32) s--;
      if (s > 0 && text.charCodeAt(s - 1) !== 10) continue; // a tab after content on its line
      let e = t + 1;
      while (isBlank(text.charCodeAt(e))) e++;
      if (e >= text.length || isBreak(text.charCodeAt(e))) throw UNSUPPORTED;
    }
    // A byte-order mark past the first character: `yaml` may read it as the start of a document
    // (what follows on its line becomes a comment or a directive), never as content. Rare: left to it.
    if (text.indexOf('\ufeff', 1) !== -1) throw UNSUPPORTED;
    if (text.charCodeAt(0) === 0xfeff) {
      this.pos = 1; // a byte-order mark: offsets keep counting it
      // `yaml` fails to read a sequence entry right after the mark: leave it to `yaml` to say so.
      if (text.charCodeAt(1) === 45 && isBreakOrBlank(text, 2)) throw UNSUPPORTED;
    }
    this.readPrologue();
    const line = this.peekContent();
    let value: JsonValue = null;
    let span: Span = { start: this.emptyAt, end: this.emptyAt };
    const emptyDocumentEnd = () => {
      // No content: `yaml` places the empty document at `...` when no `---` came before it.
      if (this.emptyAt === 0 && this.markerAt >= 0 && text.charCodeAt(this.markerAt) === 46) span = { start: this.markerAt, end: this.markerAt };
    };
    if (line) {
      const start = line.contentStart;
      const c = text.charCodeAt(start);
      if (this.isSequenceEntry(line)) value = this.parseSequence(line.indent);
      else if (c === 91 || c === 123) {
        let end: number;
        [value, end] = this.parseFlow(start, -1);
        this.finishInline(end, -1);
      } else value = this.parseMapping(line.indent, undefined);
      span = { start, end: this.lastEnd };
      if (this.peekContent()) throw UNSUPPORTED; // content left over: let `yaml` explain it
    } else {
      emptyDocumentEnd();
    }
    this.readEpilogue();
    return this.builder.located(value, span);
  }

  /** Where the collection being read ends so far: its last entry's end (comments after it are not in it). */
  private lastEnd = 0;
  /** Where `yaml` places an empty document: after `---` when there is one. */
  private emptyAt = 0;

  /** Directives (one `%YAML 1.2`) and the `---` that must follow them; comments and blank lines. */
  private readPrologue(): void {
    const text = this.text;
    let p = this.pos;
    let directives = 0;
    while (p < text.length) {
      let lineEnd = text.indexOf('\n', p);
      const next = lineEnd === -1 ? text.length : lineEnd + 1;
      if (lineEnd === -1) lineEnd = text.length;
      if (lineEnd > p && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
      const q = this.skipBlanks(p, lineEnd);
      if (q >= lineEnd || text.charCodeAt(q) === 35) {
        p = next;
        continue;
      }
      if (q === p && text.charCodeAt(p) === 37 /* % */) {
        // Only `%YAML 1.2`, once; anything else (a second one, %TAG, another version) goes to `yaml`.
        if (directives > 0 || !/^%YAML[ \t]+1\.2(?:[ \t]+(?:#.*)?)?$/.test(text.slice(p, lineEnd))) throw UNSUPPORTED;
        directives++;
        p = next;
        continue;
      }
      if (q === p && text.startsWith('---', p) && isBreakOrBlank(text, p + 3)) {
        this.expectOnlyComment(p + 3, lineEnd); // `--- value` on the marker's line: left to `yaml`
        this.emptyAt = this.skipBlanks(p + 3, lineEnd);
        this.pos = next;
        return;
      }
      if (directives > 0) throw UNSUPPORTED; // directives without `---`: `yaml` explains
      return;
    }
    if (directives > 0) throw UNSUPPORTED;
  }

  /** After the content: nothing, or `...` and then only comments; a second document goes to `yaml`. */
  private readEpilogue(): void {
    const at = this.markerAt;
    if (at < 0) return;
    if (this.text.charCodeAt(at) === 45) throw UNSUPPORTED; // `---`: another document
    const text = this.text;
    let lineEnd = text.indexOf('\n', at);
    this.pos = lineEnd === -1 ? text.length : lineEnd + 1;
    if (lineEnd === -1) lineEnd = text.length;
    if (lineEnd > at && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    this.expectOnlyComment(at + 3, lineEnd);
    this.markerAt = -1;
    if (this.peekContent() || this.markerAt >= 0) throw UNSUPPORTED;
  }

  /** The next line with content (comments and blank lines skipped), without consuming it. */
  private peekContent(): Line | undefined {
    if (this.pos === this.peekPos) return this.peekLine;
    const text = this.text;
    let p = this.pos;
    let result: Line | undefined;
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
      const line: Line = { lineStart, indent, contentStart: p, lineEnd, next };
      if (indent === 0 && (this.isMarker(line, '---') || this.isMarker(line, '...'))) {
        this.markerAt = lineStart;
        break;
      }
      if (indent === 0 && text.charCodeAt(p) === 37 /* % */) throw UNSUPPORTED;
      result = line;
      break;
    }
    this.peekPos = this.pos;
    this.peekLine = result;
    return result;
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
    if (this.depth > this.deepest) this.deepest = this.depth;
  }

  private skipBlanks(p: number, lineEnd: number): number {
    while (p < lineEnd && isBlank(this.text.charCodeAt(p))) p++;
    return p;
  }

  private parseMapping(indent: number, firstKey: { at: number; line: Line } | undefined): JsonValue {
    const builder = this.builder;
    this.enter();
    this.nodes++;
    const object: { [key: string]: JsonValue } = {};
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
      const [value, valueSpan] = this.parseBlockValue(key.afterColon, line, indent, false);
      if (typeof key.value === 'string') {
        builder.addMember(object, key.value, key.span.start, key.span.end, value, valueSpan.start, valueSpan.end);
      } else {
        builder.nonStringKey(key.span, key.value);
      }
    }
    this.depth--;
    builder.endObject(object);
    return object;
  }

  /** A block sequence at `indent`; `compact`: its first entry is on a parent entry's line (`- - x`). */
  private parseSequence(indent: number, compact?: Line): JsonValue {
    const text = this.text;
    const builder = this.builder;
    this.enter();
    this.nodes++;
    const array: JsonValue[] = [];
    let pending = compact;
    for (;;) {
      let line: Line | undefined;
      if (pending) {
        line = pending;
        pending = undefined;
      } else {
        line = this.peekContent();
        if (!line || line.indent < indent) break;
        if (line.indent > indent) throw UNSUPPORTED;
        if (!this.isSequenceEntry(line)) break;
      }
      const p = this.skipBlanks(line.contentStart + 1, line.lineEnd);
      // A tab after the dash counts as indentation when a collection or properties follow, which
      // YAML forbids (`yaml` says so): leave every `-<tab>` to the complete reader.
      if (p > line.contentStart + 1 && text.slice(line.contentStart + 1, p).includes('\t')) throw UNSUPPORTED;
      let value: JsonValue;
      let span: Span;
      if (p < line.lineEnd && text.charCodeAt(p) === 45 && isBreakOrBlank(text, p + 1)) {
        value = this.parseSequence(p - line.lineStart, { ...line, contentStart: p, indent: p - line.lineStart });
        span = { start: p, end: this.lastEnd };
      } else if (p < line.lineEnd && this.looksLikeKey(p, line.lineEnd)) {
        value = this.parseMapping(p - line.lineStart, { at: p, line });
        span = { start: p, end: this.lastEnd };
      } else {
        [value, span] = this.parseBlockValue(line.contentStart + 1, line, indent, true);
      }
      builder.addItem(array, value, span.start, span.end);
    }
    this.depth--;
    return array;
  }

  /**
   * The value after `key:` or `- ` (from `from` on this line): properties, then content on this
   * line, or a block on the lines below, or nothing (null).
   */
  private parseBlockValue(from: number, line: Line, parentIndent: number, sequenceEntry: boolean): [JsonValue, Span] {
    const text = this.text;
    let p = this.skipBlanks(from, line.lineEnd);
    let props: Props | undefined;
    const c = text.charCodeAt(p);
    if ((c === 38 || c === 33) && p < line.lineEnd) {
      props = this.parseProps(p, false);
      p = this.skipBlanks(props.end, line.lineEnd);
    }
    if (p >= line.lineEnd || text.charCodeAt(p) === 35) {
      // `yaml` places an empty node after the blanks that follow the `:`, `-` or properties.
      const emptyAt = p;
      this.pos = line.next;
      this.lastEnd = emptyAt;
      if (!props) return this.parseIndentedBlock(parentIndent, !sequenceEntry, emptyAt, undefined);
      const known = props;
      return this.withAnchor(known, () => this.parseIndentedBlock(parentIndent, !sequenceEntry, emptyAt, known));
    }
    if (!props) return this.parseInlineValue(p, line, parentIndent, undefined);
    const known = props;
    return this.withAnchor(known, () => this.parseInlineValue(p, line, parentIndent, known));
  }

  /** A value on the lines below a key or dash: a nested block, or null when there is none. */
  private parseIndentedBlock(parentIndent: number, allowSequenceAtSameIndent: boolean, emptyAt: number, props: Props | undefined): [JsonValue, Span] {
    const line = this.peekContent();
    const tag = props?.tag;
    if (line && (line.indent > parentIndent || (allowSequenceAtSameIndent && line.indent === parentIndent && this.isSequenceEntry(line)))) {
      const start = line.contentStart;
      let value: JsonValue;
      if (this.isSequenceEntry(line)) {
        if (tag !== undefined && tag !== 'seq' && tag !== 'other') throw UNSUPPORTED;
        value = this.parseSequence(line.indent);
      } else if (this.looksLikeKey(start, line.lineEnd)) {
        if (tag !== undefined && tag !== 'map' && tag !== 'other') throw UNSUPPORTED;
        value = this.parseMapping(line.indent, undefined);
      } else {
        // A scalar or flow collection on its own line below the key or dash. Properties alone on
        // that line take the block below them by the same rule: under a dash, no sequence at its column.
        if (props) throw UNSUPPORTED;
        this.plainBelowComments(start, line, parentIndent);
        return this.parseBlockValue(start, line, parentIndent, !allowSequenceAtSameIndent);
      }
      return [value, { start, end: this.lastEnd }];
    }
    this.nodes++;
    let value: JsonValue;
    if (tag === undefined || tag === 'null') value = null;
    else if (tag === 'str' || tag === 'other') value = '';
    else throw UNSUPPORTED;
    return [value, { start: emptyAt, end: emptyAt }];
  }

  /**
   * A plain scalar below a nested key with a comment line between them at or left of the key's column:
   * `yaml` then reads the scalar as the start of a key running into the next line (an error when a
   * sibling follows). Rare: left to it.
   */
  private plainBelowComments(start: number, line: Line, parentIndent: number): void {
    const text = this.text;
    const c = text.charCodeAt(start);
    if (parentIndent === 0 || c === 34 || c === 39 || c === 91 || c === 123) return;
    for (let p = this.pos; p < line.lineStart; ) {
      let s = p;
      while (text.charCodeAt(s) === 32) s++;
      if (text.charCodeAt(s) === 35 && s - p <= parentIndent) throw UNSUPPORTED;
      const lineEnd = text.indexOf('\n', s);
      p = lineEnd === -1 ? line.lineStart : lineEnd + 1;
    }
  }

  /** Reads the node with an anchor, and keeps what aliases to it need. */
  private withAnchor(props: Props, read: () => [JsonValue, Span]): [JsonValue, Span] {
    const name = props.anchor;
    if (name === undefined) return read();
    const anchors = (this.anchors ??= new Map());
    anchors.delete(name); // an alias to it from inside is a cycle: the complete reader reports it
    const nodes = this.nodes;
    const problems = this.builder.problems.length;
    const deepest = this.deepest;
    this.deepest = this.depth;
    const result = read();
    // The name defined again inside its own node (`a: &x\n  b: &x 1`): aliases after it mean the
    // inner node, the last one defined. Rare enough to leave to the complete reader.
    if (anchors.has(name)) throw UNSUPPORTED;
    const height = this.deepest - this.depth;
    if (deepest > this.deepest) this.deepest = deepest;
    anchors.set(name, { value: result[0], nodes: this.nodes - nodes, height, problems: this.builder.problems.slice(problems) });
    return result;
  }

  /** `*name` from `start` to `end`: the anchored node's value, with the `yaml` path's limits. */
  private alias(start: number, end: number): JsonValue {
    const anchor = this.anchors?.get(this.text.slice(start + 1, end));
    if (!anchor) throw UNSUPPORTED; // unknown, or a cycle: `yaml` reports it
    this.expanded += anchor.nodes;
    if (this.expanded > MAX_ALIAS_EXPANSION_NODES) throw UNSUPPORTED; // an alias bomb: `yaml` reports it
    if (this.depth + anchor.height > MAX_NESTING_DEPTH) throw UNSUPPORTED;
    if (this.depth + anchor.height > this.deepest) this.deepest = this.depth + anchor.height;
    this.nodes += 1 + anchor.nodes;
    for (const p of anchor.problems) this.builder.problems.push({ ...p });
    return anchor.value;
  }

  /** `&anchor` and `!tag` at p (p is at one of them); each must be followed by a blank or a line end. */
  private parseProps(p: number, inFlow: boolean): Props {
    const text = this.text;
    const props: Props = { end: p };
    let q = p;
    for (;;) {
      const c = text.charCodeAt(q);
      let r: number;
      if (c === 38 /* & */) {
        if (props.anchor !== undefined) throw UNSUPPORTED;
        r = q + 1;
        for (let d = text.charCodeAt(r); r < text.length && !isBlank(d) && !isBreak(d) && !(inFlow && isFlowIndicator(d)); d = text.charCodeAt(++r));
        props.anchor = text.slice(q + 1, r);
        if (!/^[\w.~-]+$/.test(props.anchor)) throw UNSUPPORTED; // empty, or characters `yaml` reads otherwise
      } else if (c === 33 /* ! */) {
        if (props.tag !== undefined) throw UNSUPPORTED;
        if (text.charCodeAt(q + 1) === 60 /* < */) {
          r = text.indexOf('>', q);
          if (r === -1) throw UNSUPPORTED;
          r++;
        } else {
          r = q + 1;
          for (let d = text.charCodeAt(r); r < text.length && !isBlank(d) && !isBreak(d) && !(inFlow && isFlowIndicator(d)); d = text.charCodeAt(++r));
        }
        const source = text.slice(q, r);
        // Only tags `yaml` reads as one token like this reader (URI characters, no flow indicators).
        if (!/^(?:!|!!?[\w.~-]+|!<[^<>\s]+>)$/.test(source)) throw UNSUPPORTED;
        const tag = coreTag(source);
        // A named handle (`!e!x`) needs a %TAG directive; without one `yaml` reports it its own way.
        if (!tag && /^![^!<]*!./.test(source) && !source.startsWith('!!')) throw UNSUPPORTED;
        props.tag = tag ?? 'other';
        if (!tag) this.tagProblems.push(unsupportedTag({ start: q, end: r }, source));
      } else {
        break;
      }
      if (!isBreakOrBlank(text, r)) throw UNSUPPORTED;
      props.end = r;
      q = r;
      while (isBlank(text.charCodeAt(q))) q++;
    }
    return props;
  }

  /** A scalar's value: by its tag when it has one (YAML 1.2 core schema), else as written. */
  private scalar(kind: number, str: string, start: number, end: number, props: Props | undefined): JsonValue {
    this.nodes++;
    const tag = props?.tag;
    if (tag === undefined) return kind === KIND_PLAIN ? this.scalarValue(resolvePlainScalar(str), { start, end }, str) : str;
    switch (tag) {
      case 'str':
      case 'other': // reported at the tag; the value is what `yaml` makes of it
        return str;
      case 'null':
        if (NULL_RE.test(str)) return null;
        break;
      case 'bool':
        if (BOOL_RE.test(str)) return str[0] === 't' || str[0] === 'T';
        break;
      case 'int':
        if (OCT_RE.test(str) || INT_RE.test(str) || HEX_RE.test(str)) return this.scalarValue(resolvePlainScalar(str), { start, end }, str);
        break;
      case 'float':
        if (NAN_RE.test(str) || EXP_RE.test(str) || FLOAT_RE.test(str)) return this.scalarValue(resolvePlainScalar(str), { start, end }, str);
        break;
    }
    throw UNSUPPORTED; // a value that does not fit its tag (or a collection tag): `yaml` reports it
  }

  /** Content that starts on this line at p: alias, block scalar, quoted, flow or plain scalar. */
  private parseInlineValue(p: number, line: Line, containerIndent: number, props: Props | undefined): [JsonValue, Span] {
    const text = this.text;
    const c = text.charCodeAt(p);
    let value: JsonValue;
    let end: number;
    if (c === 42 /* * */) {
      if (props) throw UNSUPPORTED;
      end = p + 1;
      for (let d = text.charCodeAt(end); end < line.lineEnd && !isBlank(d); d = text.charCodeAt(++end));
      value = this.alias(p, end);
    } else if (c === 124 || c === 62 /* | > */) {
      return this.parseBlockScalar(p, line, containerIndent, props);
    } else if (c === 34 || c === 39) {
      let str: string;
      [str, end] = this.parseQuoted(p, containerIndent);
      value = this.scalar(KIND_QUOTED, str, p, end, props);
    } else if (c === 91 || c === 123) {
      const tag = props?.tag;
      if (tag !== undefined && tag !== 'other' && tag !== (c === 91 ? 'seq' : 'map')) throw UNSUPPORTED;
      [value, end] = this.parseFlow(p, containerIndent);
    } else {
      return this.parsePlain(p, line, containerIndent, props);
    }
    this.finishInline(end, containerIndent);
    return [value, { start: p, end }];
  }

  /** After a value that ended at `end`: only a comment on its line, and no deeper line below. */
  private finishInline(end: number, containerIndent: number): void {
    const text = this.text;
    let q = end;
    while (isBlank(text.charCodeAt(q))) q++;
    const c = text.charCodeAt(q);
    if (c === 35 /* # */) {
      if (q === end) throw UNSUPPORTED;
    } else if (q < text.length && !isBreak(c)) {
      throw UNSUPPORTED;
    }
    const lineEnd = text.indexOf('\n', q);
    this.pos = lineEnd === -1 ? text.length : lineEnd + 1;
    this.lastEnd = end;
    const next = this.peekContent();
    if (next && next.indent > containerIndent) throw UNSUPPORTED; // `yaml` explains what is wrong there
  }

  /** A plain scalar in block context, folded over the more-indented lines that continue it. */
  private parsePlain(p: number, line: Line, containerIndent: number, props: Props | undefined): [JsonValue, Span] {
    const text = this.text;
    const c = text[p];
    if (INDICATOR_START.has(c) || ((c === '-' || c === '?' || c === ':') && isBreakOrBlank(text, p + 1))) throw UNSUPPORTED;
    const lineEnd = line.lineEnd;
    let q = p;
    let end = p;
    let comment = false;
    while (q < lineEnd) {
      const ch = text.charCodeAt(q);
      if (ch === 35 /* # */ && isBlank(text.charCodeAt(q - 1))) {
        comment = true;
        break;
      }
      if (ch === 58 /* : */ && isBreakOrBlank(text, q + 1)) throw UNSUPPORTED; // "a: b: c"
      if (!isBlank(ch)) end = q + 1;
      q++;
    }
    this.pos = line.next;
    let str: string | undefined;
    if (!comment && line.next < text.length) {
      // Does a more-indented or blank line follow? Most values end at their line: check cheaply.
      let s = line.next;
      while (text.charCodeAt(s) === 32) s++;
      const d = text.charCodeAt(s);
      if (s - line.next > containerIndent || isBreak(d) || d === 9) [str, end] = this.continuePlain(p, end, line.next, containerIndent);
    }
    if (str === undefined) str = text.slice(p, end);
    this.lastEnd = end;
    const value = this.scalar(KIND_PLAIN, str, p, end, props);
    const next = this.peekContent();
    if (next && next.indent > containerIndent) throw UNSUPPORTED; // after a comment: an error `yaml` explains
    return [value, { start: p, end }];
  }

  /** The lines after a plain scalar's first line that continue it; sets pos after the last one. */
  private continuePlain(p: number, firstEnd: number, from: number, containerIndent: number): [string, number] {
    const text = this.text;
    const length = text.length;
    let out = text.slice(p, firstEnd);
    let end = firstEnd;
    let empties = 0;
    let q = from;
    while (q < length) {
      let s = q;
      while (text.charCodeAt(s) === 32) s++;
      const c = text.charCodeAt(s);
      if (c === 9) throw UNSUPPORTED; // a tab where indentation ends: left to `yaml`
      let lineEnd = text.indexOf('\n', s);
      const next = lineEnd === -1 ? length : lineEnd + 1;
      if (lineEnd === -1) lineEnd = length;
      if (lineEnd > s && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
      if (s >= lineEnd) {
        empties++;
        q = next;
        continue;
      }
      if (s - q <= containerIndent || c === 35 /* # */) break;
      const ch0 = text[s];
      if (INDICATOR_START.has(ch0) || ((ch0 === '-' || ch0 === '?' || ch0 === ':') && isBreakOrBlank(text, s + 1))) throw UNSUPPORTED;
      let e = s;
      let comment = false;
      for (let r = s; r < lineEnd; r++) {
        const ch = text.charCodeAt(r);
        if (ch === 35 && isBlank(text.charCodeAt(r - 1))) {
          comment = true;
          break;
        }
        if (ch === 58 && isBreakOrBlank(text, r + 1)) throw UNSUPPORTED; // a key inside: an error `yaml` explains
        if (!isBlank(ch)) e = r + 1;
      }
      out += empties > 0 ? '\n'.repeat(empties) : ' ';
      out += text.slice(s, e);
      end = e;
      empties = 0;
      q = next;
      this.pos = next;
      if (comment) break;
    }
    return [out, end];
  }

  /** `|` or `>` with its indicators, and the lines of the block scalar below. */
  private parseBlockScalar(p: number, line: Line, parentIndent: number, props: Props | undefined): [JsonValue, Span] {
    const text = this.text;
    const length = text.length;
    const literal = text.charCodeAt(p) === 124;
    let q = p + 1;
    let chomp = 0; // -1 strip, 0 clip, 1 keep
    let explicit = 0;
    for (let i = 0; i < 2; i++) {
      const c = text.charCodeAt(q);
      if ((c === 45 || c === 43) && chomp === 0) {
        chomp = c === 45 ? -1 : 1;
        q++;
      } else if (c >= 49 && c <= 57 && explicit === 0) {
        explicit = c - 48;
        q++;
      }
    }
    if (!isBreakOrBlank(text, q)) throw UNSUPPORTED;
    this.expectOnlyComment(q, line.lineEnd);
    if (parentIndent < 0) throw UNSUPPORTED;
    const tag = props?.tag;
    if (tag !== undefined && tag !== 'str' && tag !== 'other') throw UNSUPPORTED;
    let indent = explicit > 0 ? parentIndent + explicit : -1;
    let out = '';
    let breaks = 0; // empty lines not yet written
    let content = false;
    let moreIndented = false;
    // The span ends at the last text, or at the header's end (its comment included) when there is none.
    let contentEnd = line.lineEnd;
    while (isBlank(text.charCodeAt(contentEnd - 1))) contentEnd--;
    let maxLeadingEmpty = 0;
    let firstTextIndent = 0;
    let r = line.next;
    while (r < length) {
      let s = r;
      while (text.charCodeAt(s) === 32) s++;
      const sp = s - r;
      let lineEnd = text.indexOf('\n', s);
      const next = lineEnd === -1 ? length : lineEnd + 1;
      if (lineEnd === -1) lineEnd = length;
      if (lineEnd > s && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
      const blank = s >= lineEnd;
      // Kept trailing lines ending in spaces with no line break at the end of the file: `yaml`
      // counts that last line as a break or not depending on the lines before it. Rare: left to it.
      if (blank && chomp === 1 && sp > 0 && next === length && text.charCodeAt(length - 1) !== 10) throw UNSUPPORTED;
      if (indent < 0) {
        if (blank) {
          if (sp > maxLeadingEmpty) maxLeadingEmpty = sp;
          breaks++;
          r = next;
          continue;
        }
        if (text.charCodeAt(s) === 9) throw UNSUPPORTED;
        if (sp <= parentIndent) break; // no content at all
        if (maxLeadingEmpty > sp) throw UNSUPPORTED; // leading blank lines deeper than the text: an error
        indent = sp;
      }
      // A blank line deeper than an explicit indentation before any text: `yaml` keeps its spaces
      // when text follows and drops them when none does. Rare: left to it.
      if (blank && !content && sp > indent) throw UNSUPPORTED;
      // After text whose first line was deeper than the explicit indentation, `yaml` drops trailing
      // blank lines up to that first line's depth, not the indicator's. Rare: left to it.
      if (blank && explicit > 0 && sp > indent && sp <= firstTextIndent) throw UNSUPPORTED;
      if (blank && sp <= indent) {
        breaks++;
        r = next;
        continue;
      }
      if (sp < indent) {
        if (text.charCodeAt(s) === 9) throw UNSUPPORTED;
        break;
      }
      const c0 = text.charCodeAt(r + indent);
      const deeper = c0 === 32 || c0 === 9;
      if (!content) out += '\n'.repeat(breaks);
      else if (literal || deeper || moreIndented) out += '\n' + '\n'.repeat(breaks);
      else out += breaks > 0 ? '\n'.repeat(breaks) : ' ';
      out += text.slice(r + indent, lineEnd);
      if (!content) firstTextIndent = sp;
      content = true;
      moreIndented = deeper;
      breaks = 0;
      let e = lineEnd;
      while (e > r + indent && isBlank(text.charCodeAt(e - 1))) e--;
      if (e > r + indent) contentEnd = e;
      r = next;
    }
    let value: string;
    if (!content) value = chomp === 1 ? '\n'.repeat(breaks) : '';
    else if (chomp === -1) value = out;
    else if (chomp === 0) value = out + '\n'; // `yaml` ends clipped text with a line feed even at the end of the file
    else value = out + '\n' + '\n'.repeat(breaks);
    this.pos = r;
    this.lastEnd = contentEnd;
    this.nodes++;
    const next = this.peekContent();
    if (next && next.indent > parentIndent) throw UNSUPPORTED; // a line between the parent's and the scalar's indentation
    return [value, { start: p, end: contentEnd }];
  }

  /**
   * A single- or double-quoted scalar from p, over as many lines as it takes: line breaks fold to a
   * space (blank lines to line feeds), `\` at a line end escapes the break. Lines after the first
   * must be indented past `minIndent`.
   */
  private parseQuoted(p: number, minIndent: number): [string, number] {
    const text = this.text;
    const double = text.charCodeAt(p) === 34;
    const quote = double ? 34 : 39;
    let out = '';
    let run = p + 1;
    let keep = 0; // out's length that trailing-blank trimming must not touch (escapes)
    for (let q = p + 1; ; q++) {
      if (q >= text.length) throw UNSUPPORTED;
      const ch = text.charCodeAt(q);
      if (ch === quote) {
        if (!double && text.charCodeAt(q + 1) === 39) {
          out += text.slice(run, q + 1);
          q++;
          run = q + 1;
          keep = out.length;
          continue;
        }
        return [out + text.slice(run, q), q + 1];
      }
      if (ch === 92 /* \ */ && double) {
        out += text.slice(run, q);
        const e = text[q + 1];
        if (e === '\n' || (e === '\r' && text[q + 2] === '\n')) {
          const [at, breaks] = this.foldLines(e === '\r' ? q + 2 : q + 1, minIndent);
          // YAML 1.2 makes each blank line after an escaped break a line feed; `yaml` makes them a
          // space. Rare enough to leave to `yaml`, so that both readers give the same value.
          if (breaks > 0) throw UNSUPPORTED;
          keep = out.length;
          run = at;
          q = at - 1;
          continue;
        }
        let decoded: string;
        [decoded, q] = this.decodeEscape(q);
        out += decoded;
        keep = out.length;
        run = q + 1;
        continue;
      }
      if (ch === 10 || ch === 13) {
        out += text.slice(run, q);
        let t = out.length;
        while (t > keep && (out.charCodeAt(t - 1) === 32 || out.charCodeAt(t - 1) === 9)) t--;
        out = out.slice(0, t);
        if (ch === 13) {
          if (text.charCodeAt(q + 1) !== 10) throw UNSUPPORTED;
          q++;
        }
        const [at, breaks] = this.foldLines(q, minIndent);
        out += breaks > 0 ? '\n'.repeat(breaks) : ' ';
        keep = out.length;
        run = at;
        q = at - 1;
      }
    }
  }

  /** From a line feed at q inside a quoted scalar: the next text's offset and the blank lines passed. */
  private foldLines(q: number, minIndent: number): [number, number] {
    const text = this.text;
    let r = q + 1;
    let breaks = 0;
    for (;;) {
      if (r >= text.length) throw UNSUPPORTED;
      let s = r;
      while (text.charCodeAt(s) === 32) s++;
      const c = text.charCodeAt(s);
      if (c === 9) throw UNSUPPORTED; // tabs around folded lines: left to `yaml`
      if (s - r === 0 && (text.startsWith('---', r) || text.startsWith('...', r)) && isBreakOrBlank(text, r + 3)) throw UNSUPPORTED;
      if (c === 10) {
        breaks++;
        r = s + 1;
        continue;
      }
      if (c === 13) {
        if (text.charCodeAt(s + 1) !== 10) throw UNSUPPORTED;
        breaks++;
        r = s + 2;
        continue;
      }
      if (s >= text.length) throw UNSUPPORTED;
      if (s - r <= minIndent) throw UNSUPPORTED; // not indented enough: `yaml` reports it
      return [s, breaks];
    }
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

  /** The escape at q (a backslash) in double quotes: what it stands for, and its last character's offset. */
  private decodeEscape(q: number): [string, number] {
    const text = this.text;
    const e = text[q + 1];
    const simple = DOUBLE_QUOTE_ESCAPES[e];
    if (simple !== undefined) return [simple, q + 1];
    const length = HEX_ESCAPE_LENGTH[e];
    if (length === undefined) throw UNSUPPORTED; // a bad escape (or a line break in a key): `yaml` reports it
    const digits = text.slice(q + 2, q + 2 + length);
    if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== length) throw UNSUPPORTED;
    const code = parseInt(digits, 16);
    if (code > 0x10ffff) throw UNSUPPORTED;
    return [String.fromCodePoint(code), q + 1 + length];
  }

  /** A double-quoted key on one line (ends before lineEnd or a line break). */
  private parseDoubleQuoted(p: number, lineEnd: number): [string, number] {
    const text = this.text;
    let out = '';
    let runStart = p + 1;
    for (let q = p + 1; q < lineEnd; q++) {
      const ch = text[q];
      if (ch === '"') return [out + text.slice(runStart, q), q + 1];
      if (ch === '\n' || ch === '\r') break;
      if (ch !== '\\') continue;
      out += text.slice(runStart, q);
      let decoded: string;
      [decoded, q] = this.decodeEscape(q);
      out += decoded;
      runStart = q + 1;
    }
    throw UNSUPPORTED; // not closed on this line
  }

  private parseSingleQuoted(p: number, lineEnd: number): [string, number] {
    const text = this.text;
    let out = '';
    let runStart = p + 1;
    for (let q = p + 1; q < lineEnd; q++) {
      const ch = text.charCodeAt(q);
      if (ch === 10 || ch === 13) break;
      if (ch !== 39) continue;
      if (text.charCodeAt(q + 1) === 39) {
        out += text.slice(runStart, q + 1);
        q++;
        runStart = q + 1;
        continue;
      }
      return [out + text.slice(runStart, q), q + 1];
    }
    throw UNSUPPORTED;
  }

  /**
   * Blanks, line breaks and comments inside a flow collection. Lines must be indented past the
   * block around it (`flowIndent`); a closing bracket may stand at its column.
   */
  private flowSkip(q: number, flowIndent: number): number {
    const text = this.text;
    for (;;) {
      const c = text.charCodeAt(q);
      if (c === 32 || c === 9) {
        q++;
      } else if (c === 35 /* # */) {
        const before = text.charCodeAt(q - 1);
        if (!(isBlank(before) || isBreak(before))) throw UNSUPPORTED;
        while (q < text.length && !isBreak(text.charCodeAt(q))) q++;
      } else if (c === 13) {
        if (text.charCodeAt(q + 1) !== 10) throw UNSUPPORTED;
        q++;
      } else if (c === 10) {
        q++;
        let s = q;
        while (text.charCodeAt(s) === 32) s++;
        const d = text.charCodeAt(s);
        if (d === 9) throw UNSUPPORTED;
        if (s < text.length && !isBreak(d)) {
          const sp = s - q;
          if (sp === 0 && (text.startsWith('---', q) || text.startsWith('...', q)) && isBreakOrBlank(text, q + 3)) throw UNSUPPORTED;
          // Only the outermost collection's closing bracket may stand at the block's column.
          if (sp <= flowIndent && !((d === 93 || d === 125) && sp === flowIndent && this.flowDepth === 1)) throw UNSUPPORTED;
        }
        q = s;
      } else {
        return q;
      }
    }
  }

  /** A flow collection `[...]` or `{...}` from p, over any number of lines. */
  private parseFlow(p: number, flowIndent: number): [JsonValue, number] {
    const text = this.text;
    const builder = this.builder;
    const isSequence = text.charCodeAt(p) === 91;
    const close = isSequence ? 93 : 125;
    this.enter();
    this.flowDepth++;
    this.nodes++;
    const container: JsonValue[] | { [key: string]: JsonValue } = isSequence ? [] : {};
    let q = this.flowSkip(p + 1, flowIndent);
    for (;;) {
      if (text.charCodeAt(q) === close) {
        this.depth--;
        this.flowDepth--;
        if (!isSequence) builder.endObject(container as { [key: string]: JsonValue });
        return [container, q + 1];
      }
      if (isSequence) {
        const [value, start, end] = this.parseFlowNode(q, flowIndent);
        builder.addItem(container as JsonValue[], value, start, end);
        q = this.flowSkip(end, flowIndent);
        if (text.charCodeAt(q) === 58) throw UNSUPPORTED; // "[a: b]": a single-pair mapping
      } else {
        const keyStart = q;
        const c = text[q];
        let key: string | number | boolean | null;
        let keyEnd: number;
        let r: number;
        if (c === '"' || c === "'") {
          [key, keyEnd] = c === '"' ? this.parseDoubleQuoted(q, text.length) : this.parseSingleQuoted(q, text.length);
          r = this.skipBlanks(keyEnd, text.length);
        } else {
          const [raw, rawEnd] = this.scanFlowPlain(q);
          key = resolvePlainScalar(raw);
          keyEnd = rawEnd;
          r = this.skipBlanks(rawEnd, text.length);
          if (text.charCodeAt(r) === 58 && !(isBreakOrBlank(text, r + 1) || isFlowIndicator(text.charCodeAt(r + 1)))) throw UNSUPPORTED;
        }
        let value: JsonValue;
        let valueStart: number;
        let end: number;
        const d = text.charCodeAt(r);
        if (d === 58 /* : */) {
          const v = this.flowSkip(r + 1, flowIndent);
          const e = text.charCodeAt(v);
          if (e === 44 || e === close) {
            // `{a: , b: 1}` or `{a:` then a line break: an empty value. `yaml` places it at the first
            // character after the colon's blanks, the line break or comment included.
            let s = r + 1;
            while (isBlank(text.charCodeAt(s))) s++;
            this.nodes++;
            value = null;
            valueStart = end = s;
          } else {
            [value, valueStart, end] = this.parseFlowNode(v, flowIndent);
          }
        } else if (d === 44 || d === close || isBreak(d) || d === 35 /* # */) {
          // `{a, b}`: keys without values, the comma possibly on a later line (`yaml` reads a colon
          // on a later line too, but YAML 1.2 keeps an implicit key on one line: left to `yaml`).
          if (d !== 44 && d !== close) {
            const e = text.charCodeAt(this.flowSkip(r, flowIndent));
            if (e !== 44 && e !== close) throw UNSUPPORTED;
          }
          value = null;
          valueStart = end = keyEnd;
        } else {
          throw UNSUPPORTED;
        }
        if (typeof key === 'string') builder.addMember(container as { [key: string]: JsonValue }, key, keyStart, keyEnd, value, valueStart, end);
        else builder.nonStringKey({ start: keyStart, end: keyEnd }, key);
        q = this.flowSkip(end, flowIndent);
      }
      const c = text.charCodeAt(q);
      if (c === 44 /* , */) {
        q = this.flowSkip(q + 1, flowIndent);
        if (text.charCodeAt(q) === 44) throw UNSUPPORTED;
        continue;
      }
      if (c !== close) throw UNSUPPORTED;
    }
  }

  /** One node inside a flow collection: [value, start, end]. */
  private parseFlowNode(q: number, flowIndent: number): [JsonValue, number, number] {
    const text = this.text;
    const c = text.charCodeAt(q);
    if (c === 38 || c === 33) {
      const props = this.parseProps(q, true);
      const at = this.flowSkip(props.end, flowIndent);
      const e = text.charCodeAt(at);
      if (e === 44 || e === 93 || e === 125 || e === 58 || at >= text.length) throw UNSUPPORTED; // an empty node with properties
      let start = at;
      let end = at;
      const [value] = this.withAnchor(props, () => {
        let v: JsonValue;
        [v, start, end] = this.parseFlowContent(at, flowIndent, props);
        return [v, { start, end }];
      });
      return [value, start, end];
    }
    return this.parseFlowContent(q, flowIndent, undefined);
  }

  private parseFlowContent(q: number, flowIndent: number, props: Props | undefined): [JsonValue, number, number] {
    const text = this.text;
    const c = text.charCodeAt(q);
    if (q >= text.length) throw UNSUPPORTED;
    if (c === 42 /* * */) {
      if (props) throw UNSUPPORTED;
      let end = q + 1;
      for (let d = text.charCodeAt(end); end < text.length && !isBlank(d) && !isBreak(d) && !isFlowIndicator(d); d = text.charCodeAt(++end));
      return [this.alias(q, end), q, end];
    }
    if (c === 34 || c === 39) {
      const [str, end] = this.parseQuoted(q, flowIndent);
      return [this.scalar(KIND_QUOTED, str, q, end, props), q, end];
    }
    if (c === 91 || c === 123) {
      const tag = props?.tag;
      if (tag !== undefined && tag !== 'other' && tag !== (c === 91 ? 'seq' : 'map')) throw UNSUPPORTED;
      const [value, end] = this.parseFlow(q, flowIndent);
      return [value, q, end];
    }
    const [raw, end] = this.scanFlowPlain(q);
    return [this.scalar(KIND_PLAIN, raw, q, end, props), q, end];
  }

  /** A plain scalar inside a flow collection, on one line: it ends at , [ ] { } ": ", a comment or the line's end. */
  private scanFlowPlain(q: number): [string, number] {
    const text = this.text;
    const c = text[q];
    // In flow context a flow indicator cannot continue a plain scalar either (`[-]` is not "-").
    if (INDICATOR_START.has(c) || ((c === '-' || c === '?' || c === ':') && (isBreakOrBlank(text, q + 1) || isFlowIndicator(text.charCodeAt(q + 1))))) throw UNSUPPORTED;
    let end = q;
    for (let r = q; r < text.length; r++) {
      const ch = text.charCodeAt(r);
      if (isFlowIndicator(ch) || isBreak(ch)) break;
      if (ch === 58 && (isBreakOrBlank(text, r + 1) || isFlowIndicator(text.charCodeAt(r + 1)))) break;
      if (ch === 35 && isBlank(text.charCodeAt(r - 1))) break;
      if (!isBlank(ch)) end = r + 1;
    }
    if (end === q) throw UNSUPPORTED;
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
    const problems = reader.tagProblems.length > 0 ? [...reader.tagProblems, ...reader.builder.problems] : reader.builder.problems;
    return { located, problems };
  } catch (e) {
    if (e === UNSUPPORTED) return undefined;
    throw e;
  }
}
