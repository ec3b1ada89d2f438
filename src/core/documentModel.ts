import type { JsonValue } from './canonical';
import { problem, type Problem, type Span } from './problems';

/**
 * Where each entry of a container stands in the source text (the container's own span is in its
 * parent's, or is the root span), in one flat array: two numbers per array item (value start,
 * end), five slots per object member (name, key start, key end, value start, value end). Why flat:
 * a Map or a span object per entry doubled parse time on megabyte documents through GC, and an
 * object holding a names array and a spans array cost three allocations per container where one
 * does. Most containers of a generated document hold one entry (a pool with only its `requires`):
 * one array each made the parse of an 8 MB one keep 12% less alive (54 MB, from 61). An empty
 * container has none: it has no entry to locate, and most containers there are empty `requires`
 * lists.
 */
export type ContainerLocation = (string | number)[];

/** Slots per object member in a ContainerLocation. */
const MEMBER_SLOTS = 5;

/** How lookups by name in one large object are answered (see memberIndex). */
interface NameLookups {
  /** Lookups answered by a scan so far. */
  scans: number;
  /** Each name's member number, built once lookups add up. */
  index?: Map<string, number>;
}

/** Below this many members a scan beats building a map. */
const SCAN_NAMES_UP_TO = 16;
/** Lookups in a larger mapping answered by a scan before its index is built. */
const SCANS_BEFORE_INDEX = 8;

function scanForName(location: ContainerLocation, name: string): number {
  for (let i = 0; i < location.length; i += MEMBER_SLOTS) if (location[i] === name) return i / MEMBER_SLOTS;
  return -1;
}

/**
 * The member number of `name` in an object's location. A scan per lookup made locating every
 * member of a large mapping quadratic: a problem on each of 64,000 unused pools took 7.7 s to
 * place. But a valid document places a handful of problems, and a map of 120,000 names (an 8 MB
 * document's topics) cost more than the scans: the first few lookups scan, the index comes with the
 * ones after.
 */
function memberIndex(location: ContainerLocation, name: string, lookups: Map<ContainerLocation, NameLookups>): number {
  const members = location.length / MEMBER_SLOTS;
  if (members <= SCAN_NAMES_UP_TO) return scanForName(location, name);
  let state = lookups.get(location);
  if (!state) lookups.set(location, (state = { scans: 0 }));
  if (!state.index && state.scans < SCANS_BEFORE_INDEX) {
    state.scans++;
    return scanForName(location, name);
  }
  if (!state.index) {
    state.index = new Map();
    for (let i = 0; i < members; i++) state.index.set(location[i * MEMBER_SLOTS] as string, i);
  }
  return state.index.get(name) ?? -1;
}

/** The spans of the node at a JSON path: its key (when it is an object member) and its value. */
export interface NodeLocation {
  key?: Span;
  value: Span;
}

export type JsonPath = readonly (string | number)[];

/**
 * How deep objects and arrays may nest, in every reader (JSON, both YAML readers, a document read
 * from Redis). Every later stage recurses once per level (schema validation, canonical JSON, the
 * YAML that `pull` and `diff` write, whose writer runs out of stack near 650 levels), and the `yaml`
 * parser slows down sharply on deep nesting. Real config documents nest about ten levels deep.
 */
export const MAX_NESTING_DEPTH = 256;

/** The problem at the start of the first object or array that is nested too deep. */
export function nestingTooDeep(span: Span): Problem {
  return problem(
    span,
    `Objects and arrays nest deeper than ${MAX_NESTING_DEPTH} levels here; DriftLens reads documents nested up to ${MAX_NESTING_DEPTH} levels and stops at this point.`,
    'nesting-too-deep',
  );
}

/** Whether a JSON value nests deeper than the limit. Iterative, so that asking about any depth is safe. */
export function nestsTooDeep(value: unknown, max = MAX_NESTING_DEPTH): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === 'object') pending.push([child, depth + 1]);
    }
  }
  return false;
}

/** An object of LARGE_OBJECT_MEMBERS members or more: its location, and its member values in the same order. */
export interface LargeObject {
  location: ContainerLocation;
  values: JsonValue[];
  /** How many of them are in the object; the rest are put in when it ends (LocatedBuilder.endObject). */
  inserted: number;
}

/**
 * The JSON data of a document with a side table of source spans, so that every later stage
 * (schema validation, section hashes, lenses) speaks about the text without parsing it again.
 */
export class LocatedValue {
  /** Member names of large objects, taken from their locations when first asked for. */
  private readonly names = new Map<object, string[]>();
  /** Lookup state of the objects located by name past SCAN_NAMES_UP_TO members. */
  private readonly lookups = new Map<ContainerLocation, NameLookups>();

  constructor(
    readonly value: JsonValue | undefined,
    readonly rootSpan: Span,
    private readonly locations: ReadonlyMap<object, ContainerLocation>,
    private readonly largeObjects: ReadonlyMap<object, LargeObject> = new Map(),
  ) {}

  /**
   * The member names of one of the document's large objects, in source order; undefined for other
   * values. The same names as Object.keys, which orders array-index names first. Why: Object.keys of
   * an object this large (V8 keeps it as a hash table) sorts the keys back into insertion order,
   * reading the table at random: on an 8 MB document, one call over its 113,000 topics took about
   * 20 ms, and each analysis made four. Valid while the data is unchanged, as it is from parse to hash.
   */
  memberNames(object: object): readonly string[] | undefined {
    let names = this.names.get(object);
    if (names) return names;
    const location = this.largeObjects.get(object)?.location;
    if (!location) return undefined;
    names = [];
    for (let i = 0; i < location.length; i += MEMBER_SLOTS) names.push(location[i] as string);
    this.names.set(object, names);
    return names;
  }

  /**
   * The member values of one of the document's large objects, beside memberNames; undefined for
   * other values. Why: `object[name]` for each of 113,000 names reads V8's hash table at random,
   * and whoever walks a large mapping (the cross-references, the schema check of its entries)
   * reads it in order from here. Valid while the data is unchanged, as memberNames.
   */
  memberValues(object: object): readonly JsonValue[] | undefined {
    return this.largeObjects.get(object)?.values;
  }

  /** The deepest node on `path` that exists; `exact` says whether the whole path was found. */
  locate(path: JsonPath): NodeLocation & { exact: boolean } {
    let current: JsonValue | undefined = this.value;
    let found: NodeLocation = { value: this.rootSpan };
    for (const segment of path) {
      if (current === null || typeof current !== 'object') return { ...found, exact: false };
      const location = this.locations.get(current);
      if (!location) return { ...found, exact: false };
      if (Array.isArray(current)) {
        const index = Number(segment);
        if (!(index >= 0 && 2 * index + 1 < location.length)) return { ...found, exact: false };
        found = { value: { start: location[2 * index] as number, end: location[2 * index + 1] as number } };
        current = current[index];
      } else {
        const i = memberIndex(location, String(segment), this.lookups);
        if (i < 0) return { ...found, exact: false };
        const at = i * MEMBER_SLOTS;
        found = {
          key: { start: location[at + 1] as number, end: location[at + 2] as number },
          value: { start: location[at + 3] as number, end: location[at + 4] as number },
        };
        current = current[String(segment)];
      }
    }
    return { ...found, exact: true };
  }
}

/** From this many members on, an object's names and values are kept at hand (LocatedValue.memberNames, memberValues). */
export const LARGE_OBJECT_MEMBERS = 1024;

/** Puts a member into an object as JSON means it: `__proto__` an own member, not the prototype. */
function putMember(object: { [key: string]: JsonValue }, key: string, value: JsonValue): void {
  if (key === '__proto__') Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}

/** Builds objects and arrays with their locations, and applies the checks every parser shares. */
export class LocatedBuilder {
  /**
   * A Map, not a WeakMap: it lives as long as the LocatedValue that holds it, whose value holds
   * every key anyway, so weakness bought nothing. But V8's young-generation collector treats each
   * WeakMap entry as an ephemeron: side by side on an 8 MB document (about 240,000 containers), its
   * collections cost a third to a half less with a Map.
   */
  readonly locations = new Map<object, ContainerLocation>();
  /** The objects that reached LARGE_OBJECT_MEMBERS members (see LocatedValue.memberNames). */
  readonly largeObjects = new Map<object, LargeObject>();
  readonly problems: Problem[] = [];
  // Members of one container arrive in a row: a one-entry cache saves a map lookup per member.
  private lastContainer: object | undefined;
  private lastLocation: ContainerLocation | undefined;
  private lastLarge: LargeObject | undefined;

  /** The container's location, or undefined before its first entry. */
  private locationOf(container: object): ContainerLocation | undefined {
    if (container !== this.lastContainer) {
      this.lastContainer = container;
      this.lastLocation = this.locations.get(container);
    }
    return this.lastLocation;
  }

  /**
   * A container's location is made with its first entry, as a literal: allocated at its exact size,
   * where a push onto an empty array reserves room for several more. Most containers of a generated
   * config document hold one entry (a pool with only its `requires`): on an 8 MB one, the spare room
   * was a quarter of what the parse kept alive. A second entry grows it as push does.
   */
  private firstEntry(container: object, location: ContainerLocation): void {
    this.locations.set(container, location);
    this.lastLocation = location;
  }

  addItem(array: JsonValue[], value: JsonValue, start: number, end: number): void {
    array.push(value);
    const location = this.locationOf(array);
    if (location) location.push(start, end);
    else this.firstEntry(array, [start, end]);
  }

  /**
   * Adds a member; a duplicate key is an error at the second key (JSON readers disagree on which
   * wins). Past LARGE_OBJECT_MEMBERS members, a member is only listed, and goes into the object when
   * the object ends (endObject). Why: V8 keeps such an object as a hash table, which lives in the
   * old generation; each member put into it during the parse, its value still young, was one more
   * old-to-young pointer for every young-generation collection to visit, and the inserts came
   * between the parse's own allocations, at random places in a table of megabytes. Put in one
   * after another when the mapping ends, the whole analysis of an 8 MB document took a fifth less
   * CPU (side by side).
   */
  addMember(object: { [key: string]: JsonValue }, key: string, keyStart: number, keyEnd: number, value: JsonValue, valueStart: number, valueEnd: number): void {
    const location = this.locationOf(object);
    if (location !== undefined && location.length >= LARGE_OBJECT_MEMBERS * MEMBER_SLOTS) {
      location.push(key, keyStart, keyEnd, valueStart, valueEnd);
      let large = this.lastLarge;
      if (large === undefined || large.location !== location) this.lastLarge = large = this.largeObjects.get(object)!;
      large.values.push(value);
      return;
    }
    if (Object.prototype.hasOwnProperty.call(object, key)) {
      this.duplicateKey(key, keyStart, keyEnd);
      return;
    }
    putMember(object, key, value);
    if (!location) {
      this.firstEntry(object, [key, keyStart, keyEnd, valueStart, valueEnd]);
      return;
    }
    if (location.push(key, keyStart, keyEnd, valueStart, valueEnd) === LARGE_OBJECT_MEMBERS * MEMBER_SLOTS) {
      const values: JsonValue[] = [];
      for (let i = 0; i < location.length; i += MEMBER_SLOTS) values.push(object[location[i] as string]);
      this.largeObjects.set(object, { location, values, inserted: values.length });
    }
  }

  /**
   * A mapping is complete: the members listed past LARGE_OBJECT_MEMBERS go into it now, a repeated
   * key reported as addMember would have (and left out of the lists). Every reader calls this as
   * each mapping ends, before anything reads it: an anchored mapping's problems are taken then.
   */
  endObject(object: { [key: string]: JsonValue }): void {
    if (this.largeObjects.size === 0) return;
    const large = this.largeObjects.get(object);
    if (large === undefined || large.inserted === large.values.length) return;
    const { location, values } = large;
    let kept = large.inserted;
    for (let i = large.inserted; i < values.length; i++) {
      const at = i * MEMBER_SLOTS;
      const key = location[at] as string;
      if (Object.prototype.hasOwnProperty.call(object, key)) {
        this.duplicateKey(key, location[at + 1] as number, location[at + 2] as number);
        continue;
      }
      putMember(object, key, values[i]);
      if (kept !== i) {
        for (let k = 0; k < MEMBER_SLOTS; k++) location[kept * MEMBER_SLOTS + k] = location[at + k];
        values[kept] = values[i];
      }
      kept++;
    }
    location.length = kept * MEMBER_SLOTS;
    values.length = kept;
    large.inserted = kept;
  }

  /** The data and locations read: every mapping complete (endObject), whatever a reader forgot. */
  located(value: JsonValue | undefined, rootSpan: Span): LocatedValue {
    for (const object of this.largeObjects.keys()) this.endObject(object as { [key: string]: JsonValue });
    return new LocatedValue(value, rootSpan, this.locations, this.largeObjects);
  }

  private duplicateKey(key: string, keyStart: number, keyEnd: number): void {
    this.problems.push(
      problem({ start: keyStart, end: keyEnd }, `Duplicate key ${JSON.stringify(key)}: it is already defined above, and JSON readers disagree on which one wins.`, 'duplicate-key'),
    );
  }

  /** A number JSON can carry faithfully, or a problem and `null`. */
  checkNumber(n: number, span: Span, source: string): JsonValue {
    if (!Number.isFinite(n)) {
      this.problems.push(problem(span, `${source} is not a finite number; JSON and Go's float64 have no NaN or infinities, so replicas cannot decode it.`, 'json-non-finite'));
      return null;
    }
    if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
      this.problems.push(
        problem(span, `${source} is beyond 2^53 and is stored as the nearest float64 (${n}); quote it if the digits matter.`, 'json-precision', 'warning'),
      );
    }
    return n;
  }

  nonStringKey(span: Span, key: unknown): void {
    const kind = key === null ? 'null' : typeof key;
    const shown = key === null ? 'null' : String(key);
    this.problems.push(
      problem(span, `Key ${shown} is a ${kind}; JSON object keys must be strings. Quote it: "${shown}".`, 'json-non-string-key'),
    );
  }
}
