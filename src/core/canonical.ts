/**
 * Go-compatible canonical JSON: the exact bytes `encoding/json` (Go >= 1.22) writes for a value
 * decoded into `any` (maps sorted by key, floats in shortest form, HTML-safe escaping).
 * Replicas hash these bytes, so one differing escape here would make every hash DriftLens shows a lie.
 */

/** A JSON value as Go decodes it into `any`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export class CanonicalJsonError extends Error {}

const HEX = '0123456789abcdef';

/**
 * Escape table for the 128 ASCII code units: `undefined` means the character is written raw.
 * Go escapes `"` and `\` with a backslash, \b \f \n \r \t with their short forms, other control
 * characters as \u00xx, and `<` `>` `&` as \u003c \u003e \u0026 (HTML-safe, json.Marshal's default).
 */
const ASCII_ESCAPES: (string | undefined)[] = (() => {
  const table: (string | undefined)[] = new Array(128).fill(undefined);
  for (let c = 0; c < 0x20; c++) table[c] = '\\u00' + HEX[c >> 4] + HEX[c & 15];
  table[0x08] = '\\b';
  table[0x0c] = '\\f';
  table[0x0a] = '\\n';
  table[0x0d] = '\\r';
  table[0x09] = '\\t';
  table[0x22] = '\\"';
  table[0x5c] = '\\\\';
  table[0x3c] = '\\u003c';
  table[0x3e] = '\\u003e';
  table[0x26] = '\\u0026';
  return table;
})();

/** Characters that need work: ASCII escapes, U+2028/U+2029, and surrogates (a lone one becomes U+FFFD). */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]/;

export function quoteGoString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let replacement: string | undefined;
    if (c < 128) {
      replacement = ASCII_ESCAPES[c];
    } else if (c === 0x2028) {
      replacement = '\\u2028';
    } else if (c === 0x2029) {
      replacement = '\\u2029';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair: written raw
        continue;
      }
      replacement = '\ufffd'; // Go's decoder already turned the lone surrogate into U+FFFD
    }
    if (replacement !== undefined) {
      out += s.slice(runStart, i) + replacement;
      runStart = i + 1;
    }
  }
  return out + s.slice(runStart) + '"';
}

/** Replaces lone surrogates by U+FFFD, as Go's decoder does, so equal Go strings compare equal here. */
export function wellFormed(s: string): string {
  return /[\ud800-\udfff]/.test(s) ? s.toWellFormed() : s;
}

/**
 * Orders strings by Unicode code point, which is UTF-8 byte order (Go's string order).
 * JavaScript's default compares UTF-16 code units, which puts U+E000..U+FFFF after astral characters.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Lift surrogates above U+E000..U+FFFF so code units compare like code points.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Go's float64 encoding: shortest round-trip, same exponent thresholds as JavaScript, but `-0` kept. */
export function formatGoNumber(n: number): string {
  if (!Number.isFinite(n)) throw new CanonicalJsonError(`${n} cannot be written as JSON`);
  if (n === 0 && Object.is(n, -0)) return '-0';
  return String(n);
}

/** The canonical JSON text of a value (a JavaScript string; see {@link canonicalJsonBytes}). */
export function canonicalJson(value: JsonValue): string {
  const chunks: string[] = [];
  writeCanonicalJson(value, (chunk) => chunks.push(chunk));
  return chunks.length === 1 ? chunks[0] : chunks.join('');
}

/** The exact UTF-8 bytes a Cordum replica hashes. */
export function canonicalJsonBytes(value: JsonValue): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

/**
 * Characters gathered before a chunk is handed on. Above V8's largest regular object (128 KB), so
 * that a chunk, once flattened, sits in large-object space and is never copied by the collector.
 */
const CHUNK_CHARS = 256 * 1024;

/**
 * Writes the canonical JSON of a value in chunks of about {@link CHUNK_CHARS} characters, in order;
 * their concatenation is {@link canonicalJson}. Why chunks: building an 8 MB section as one string
 * made millions of V8 rope nodes, all alive until the hash read them; the young-generation collector
 * copied every one of them, and its share grew with the document. A chunk's nodes die with the chunk.
 */
export function writeCanonicalJson(value: JsonValue, onChunk: (chunk: string) => void, memberNames?: MemberNames): void {
  const writer = new ChunkedWriter(onChunk, memberNames);
  writer.value(value);
  writer.flush();
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * An object's own keys where the caller has them at hand (in any order; LocatedValue.memberNames),
 * else undefined and Object.keys is asked.
 */
export type MemberNames = (object: object) => readonly string[] | undefined;

/** Keys in Go's order. The native sort is right unless a key holds a surrogate (astral or lone). */
function sortedKeys(object: { [key: string]: JsonValue }, memberNames: MemberNames | undefined): { keys: string[]; values: JsonValue[] } {
  // A copy: the sort below is in place.
  const own = memberNames?.(object)?.slice() ?? Object.keys(object);
  let special = false;
  for (const key of own) {
    if (SURROGATE.test(key)) {
      special = true;
      break;
    }
  }
  if (!special) {
    own.sort();
    return { keys: own, values: own.map((k) => object[k]) };
  }
  // Go's decoder turned lone surrogates into U+FFFD, so two keys may now collide: the last one wins.
  const entries = new Map<string, JsonValue>();
  for (const key of own) entries.set(wellFormed(key), object[key]);
  const keys = [...entries.keys()].sort(compareCodePoints);
  return { keys, values: keys.map((k) => entries.get(k) as JsonValue) };
}

class ChunkedWriter {
  private out = '';

  constructor(
    private readonly onChunk: (chunk: string) => void,
    private readonly memberNames: MemberNames | undefined,
  ) {}

  flush(): void {
    if (this.out.length === 0) return;
    // Reading a character makes V8 flatten the rope into one string: its nodes die here, whether
    // the chunk is hashed at once or kept for the text.
    this.out.charCodeAt(0);
    this.onChunk(this.out);
    this.out = '';
  }

  value(value: JsonValue): void {
    if (value === null) {
      this.out += 'null';
      return;
    }
    switch (typeof value) {
      case 'string':
        this.out += quoteGoString(value);
        return;
      case 'number':
        this.out += formatGoNumber(value);
        return;
      case 'boolean':
        this.out += value ? 'true' : 'false';
        return;
      case 'object': {
        if (Array.isArray(value)) {
          this.out += '[';
          for (let i = 0; i < value.length; i++) {
            if (i > 0) this.out += ',';
            this.value(value[i]);
          }
          this.out += ']';
          return;
        }
        const { keys, values } = sortedKeys(value, this.memberNames);
        this.out += '{';
        for (let i = 0; i < keys.length; i++) {
          this.out += (i > 0 ? ',' : '') + quoteGoString(keys[i]) + ':';
          this.value(values[i]);
          // Checked per member: a member's value is one scalar, or a container that checked its own.
          if (this.out.length >= CHUNK_CHARS) this.flush();
        }
        this.out += '}';
        return;
      }
      default:
        throw new CanonicalJsonError(`a ${typeof value} cannot be written as JSON`);
    }
  }
}
