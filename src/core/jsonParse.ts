import type { JsonValue } from './canonical';
import { LocatedBuilder, LocatedValue, MAX_NESTING_DEPTH, nestingTooDeep } from './documentModel';
import { problem, type Problem } from './problems';

/**
 * A strict JSON (RFC 8259) reader that keeps source spans. JSON.parse gives no positions, and the
 * YAML reader would accept YAML-only syntax in a .json file. It stops at the first syntax error,
 * since nothing after it can be trusted.
 */
export function parseJsonLocated(text: string): { located: LocatedValue; problems: Problem[] } {
  const reader = new JsonReader(text);
  try {
    // A UTF-8 byte-order mark (Windows editors write one) says nothing about the data; YAML allows it too.
    if (text.charCodeAt(0) === 0xfeff) reader.pos = 1;
    reader.skipWhitespace();
    const start = reader.pos;
    const value = reader.readValue();
    const end = reader.pos;
    reader.skipWhitespace();
    if (reader.pos < text.length) reader.fail('Unexpected text after the JSON value.');
    return { located: reader.builder.located(value, { start, end }), problems: reader.builder.problems };
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    const span = { start: e.offset, end: Math.min(e.offset + 1, text.length) };
    const problems = [...reader.builder.problems, e instanceof JsonTooDeep ? nestingTooDeep(span) : problem(span, e.message, 'json-syntax')];
    return { located: new LocatedValue(undefined, { start: 0, end: 0 }, reader.builder.locations), problems };
  }
}

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

class JsonTooDeep extends JsonSyntaxError {}

/** A character as a message shows it: quoted, or by code point when it is invisible (a BOM, a control character). */
function showCharacter(text: string, at: number): string {
  const code = text.codePointAt(at)!;
  const character = String.fromCodePoint(code);
  if (/^[\p{Cc}\p{Cf}\p{Z}\p{Co}\p{Cn}\p{Cs}]$/u.test(character)) return `the invisible character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return JSON.stringify(character);
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;

class JsonReader {
  pos = 0;
  readonly builder = new LocatedBuilder();
  private depth = 0;

  constructor(private readonly text: string) {}

  fail(message: string, at = this.pos): never {
    throw new JsonSyntaxError(message, at);
  }

  skipWhitespace(): void {
    const text = this.text;
    let p = this.pos;
    for (;;) {
      const c = text.charCodeAt(p);
      if (c === 32 || c === 10 || c === 13 || c === 9) p++;
      else break;
    }
    this.pos = p;
  }

  private describe(at: number): string {
    return at >= this.text.length ? 'the end of the file' : showCharacter(this.text, at);
  }

  readValue(): JsonValue {
    const text = this.text;
    const c = text[this.pos];
    if (c === '{') return this.readObject();
    if (c === '[') return this.readArray();
    if (c === '"') return this.readString();
    if (c === '-' || (c >= '0' && c <= '9')) return this.readNumber();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    if (c === "'") this.fail('JSON strings use double quotes.');
    if (text.startsWith('NaN', this.pos) || text.startsWith('Infinity', this.pos)) this.fail('JSON has no NaN or Infinity.');
    this.fail(`Expected a JSON value, found ${this.describe(this.pos)}.`);
  }

  private enter(): void {
    if (++this.depth > MAX_NESTING_DEPTH) throw new JsonTooDeep('nesting', this.pos);
  }

  private readObject(): JsonValue {
    this.enter();
    const object: { [key: string]: JsonValue } = {};
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
    } else {
      for (;;) {
        this.skipWhitespace();
        if (this.text[this.pos] !== '"') {
          if (this.text[this.pos] === '}') this.fail('Trailing comma before "}" is not allowed in JSON.');
          this.fail(`Expected a property name in double quotes, found ${this.describe(this.pos)}.`);
        }
        const keyStart = this.pos;
        const key = this.readString();
        const keyEnd = this.pos;
        this.skipWhitespace();
        if (this.text[this.pos] !== ':') this.fail(`Expected ":" after the property name, found ${this.describe(this.pos)}.`);
        this.pos++;
        this.skipWhitespace();
        const valueStart = this.pos;
        const value = this.readValue();
        this.builder.addMember(object, key, keyStart, keyEnd, value, valueStart, this.pos);
        this.skipWhitespace();
        const c = this.text[this.pos];
        if (c === ',') {
          this.pos++;
          continue;
        }
        if (c === '}') {
          this.pos++;
          break;
        }
        this.fail(`Expected "," or "}" after a property value, found ${this.describe(this.pos)}.`);
      }
    }
    this.depth--;
    this.builder.endObject(object);
    return object;
  }

  private readArray(): JsonValue {
    this.enter();
    const array: JsonValue[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
    } else {
      for (;;) {
        this.skipWhitespace();
        if (this.text[this.pos] === ']') this.fail('Trailing comma before "]" is not allowed in JSON.');
        const itemStart = this.pos;
        const value = this.readValue();
        this.builder.addItem(array, value, itemStart, this.pos);
        this.skipWhitespace();
        const c = this.text[this.pos];
        if (c === ',') {
          this.pos++;
          continue;
        }
        if (c === ']') {
          this.pos++;
          break;
        }
        this.fail(`Expected "," or "]" after an array item, found ${this.describe(this.pos)}.`);
      }
    }
    this.depth--;
    return array;
  }

  private readString(): string {
    const text = this.text;
    const start = this.pos;
    let p = start + 1;
    let out = '';
    let runStart = p;
    for (;;) {
      if (p >= text.length) this.fail('This string is not closed.', start);
      const c = text.charCodeAt(p);
      if (c === 34) break;
      if (c < 0x20) this.fail('A control character (such as a line break) must be escaped inside a JSON string.', p);
      if (c === 92) {
        out += text.slice(runStart, p);
        const e = text[p + 1];
        if (e === 'u') {
          const hex = text.slice(p + 2, p + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('A \\u escape needs four hex digits.', p);
          out += String.fromCharCode(parseInt(hex, 16));
          p += 6;
        } else if (ESCAPES[e] !== undefined) {
          out += ESCAPES[e];
          p += 2;
        } else {
          this.fail(`Unknown escape \\${e ?? ''} in a JSON string.`, p);
        }
        runStart = p;
        continue;
      }
      p++;
    }
    this.pos = p + 1;
    return out + text.slice(runStart, p);
  }

  private readNumber(): JsonValue {
    const start = this.pos;
    NUMBER_RE.lastIndex = start;
    const match = NUMBER_RE.exec(this.text);
    if (!match || match[0] === '-') this.fail(`Invalid number starting at ${this.describe(start)}.`, start);
    this.pos = start + match[0].length;
    const next = this.text[this.pos];
    if (next !== undefined && /[0-9A-Za-z.+\-]/.test(next)) this.fail(`Invalid number ${JSON.stringify(this.text.slice(start, this.pos + 1))}.`, start);
    return this.builder.checkNumber(Number(match[0]), { start, end: this.pos }, match[0]);
  }
}
