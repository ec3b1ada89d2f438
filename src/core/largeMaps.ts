import type { ErrorObject, ValidateFunction } from 'ajv';
import type { JsonValue } from './canonical';
import type { LocatedValue } from './documentModel';
import { schemaDocument } from './schemaDocuments';
import { subschema, type SchemaName } from './schemas';
import type { SectionName } from './sectionHash';
import { pointerToPath } from './validation';

/**
 * Schema checks of a section's large mappings (an 8 MB document's 113,000 topics and as many pools)
 * entry by entry, in source order from the parse, instead of by ajv's `for (key in map)`. Why: V8
 * keeps a mapping that large as a hash table; a for-in over it collects the keys, sorts them back
 * into insertion order and looks each one up twice, all at random places in memory. On an 8 MB
 * document that made the schema check cost about twice as much per MB as on a 256 KB one.
 *
 * How, without changing a single problem: ajv checks the document with each large mapping replaced
 * by a stand-in holding only its first member, and every other member is checked by a validator of
 * the mapping's `additionalProperties` schema, its errors given the instance and schema paths ajv
 * gives them. A mapping is split this way only when that is exact (see splittable): the one
 * schema that applies to it says nothing but `type: object`, `additionalProperties` and at most
 * `minProperties: 1`, and nothing above it could see the difference (`enum`, `const`, another
 * schema reaching the mapping through `allOf`, `if` or `patternProperties`).
 *
 * What differs, and nobody reads: ajv's raw error list has its `#/if` error at the root only when
 * ajv's own check failed, and the set-aside members' errors come after ajv's. Problems are shown
 * in document order, and `if` errors are never shown (validation.ts).
 */

/** The mappings of each section that may be large; each one's schema is `properties.<key>` of `<section>.schema.json`. */
const SECTION_MAPS: Record<SectionName, readonly string[]> = {
  pools: ['topics', 'pools'],
  timeouts: ['topics', 'workflows'],
};

/** Keywords that only annotate or hold definitions: they never fail and never change what is checked. */
const INERT = new Set(['$schema', '$id', '$comment', 'definitions', '$defs', 'description', 'markdownDescription', 'title', 'examples', 'default', 'deprecationMessage']);
/** Keywords that only pass the value on to their schemas. */
const PASS_ON = ['$ref', 'allOf', 'anyOf', 'oneOf', 'not', 'if', 'then', 'else'];
/** Keywords that apply their schemas to the same value: those, and dependencies (which also require keys). */
const IN_PLACE = [...PASS_ON, 'dependencies', 'dependentSchemas'];
/** Keywords a walk cannot follow exactly: the mapping is then checked whole. */
const UNFOLLOWED = new Set(['unevaluatedProperties', 'unevaluatedItems', '$dynamicRef', '$recursiveRef', '$anchor', '$dynamicAnchor']);

type Obj = { [key: string]: JsonValue };
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A schema document by file name (a registered one by default). */
export type SchemaResolver = (file: string) => unknown;

function atPointer(document: unknown, pointer: string): unknown {
  let node = document;
  for (const segment of pointerToPath(pointer)) node = isObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[segment] : undefined;
  return node;
}

/**
 * Every schema that applies to the value at `path` below `schema` (in `file`), following `$ref`,
 * in-place applicators and `properties`/`patternProperties`/`additionalProperties`, into `found`.
 * Schemas that only pass the value on (a bare `$ref`, an `allOf`) are followed, not listed. False
 * when something on the way could see the whole value, or cannot be followed.
 */
export function schemasAt(schema: unknown, file: string, path: readonly string[], resolve: SchemaResolver, found: unknown[], depth = 0): boolean {
  if (depth > 64) return false;
  if (typeof schema === 'boolean') {
    if (path.length === 0 && !schema) found.push(schema);
    return true;
  }
  if (!isObject(schema)) return false;
  const keys = Object.keys(schema);
  if (keys.some((k) => UNFOLLOWED.has(k))) return false;
  // An ancestor compared whole would see the stand-in.
  if (path.length > 0 && ('enum' in schema || 'const' in schema)) return false;
  if (path.length === 0 && keys.some((k) => !INERT.has(k) && !PASS_ON.includes(k))) found.push(schema);
  for (const keyword of IN_PLACE) {
    const value = schema[keyword];
    if (value === undefined) continue;
    if (keyword === '$ref') {
      if (typeof value !== 'string') return false;
      const hash = value.indexOf('#');
      const target = hash === 0 ? file : hash > 0 ? value.slice(0, hash) : value;
      const document = resolve(target);
      if (document === undefined) return false;
      const referenced = hash >= 0 ? atPointer(document, value.slice(hash + 1)) : document;
      if (!schemasAt(referenced, target, path, resolve, found, depth + 1)) return false;
    } else if (Array.isArray(value)) {
      if (!value.every((v) => schemasAt(v, file, path, resolve, found, depth + 1))) return false;
    } else if (keyword === 'dependencies' || keyword === 'dependentSchemas') {
      if (!isObject(value)) return false;
      for (const v of Object.values(value)) if (!Array.isArray(v) && !schemasAt(v, file, path, resolve, found, depth + 1)) return false;
    } else if (!schemasAt(value, file, path, resolve, found, depth + 1)) {
      return false;
    }
  }
  if (path.length === 0) return true;
  const [name, ...rest] = path;
  let named = false;
  if (isObject(schema.properties) && Object.prototype.hasOwnProperty.call(schema.properties, name)) {
    named = true;
    if (!schemasAt(schema.properties[name], file, rest, resolve, found, depth + 1)) return false;
  }
  if (isObject(schema.patternProperties)) {
    for (const [pattern, sub] of Object.entries(schema.patternProperties)) {
      if (!new RegExp(pattern, 'u').test(name)) continue;
      named = true;
      if (!schemasAt(sub, file, rest, resolve, found, depth + 1)) return false;
    }
  }
  if (!named && schema.additionalProperties !== undefined && !schemasAt(schema.additionalProperties, file, rest, resolve, found, depth + 1)) return false;
  return true;
}

function containsRef(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.some(containsRef);
  if (!isObject(schema)) return false;
  return Object.keys(schema).some((k) => k === '$ref' || UNFOLLOWED.has(k) || containsRef(schema[k]));
}

/**
 * Whether the mapping at `path` below the document schema `rootFile` may be checked entry by entry,
 * its schema being `mapSchema`: it is the only schema that applies there, and it says nothing but
 * `type: object`, `additionalProperties: {…}` (with no `$ref` inside, whose schema paths would read
 * differently) and at most `minProperties: 1`, which the one-member stand-in meets exactly when the
 * mapping does.
 */
export function splittable(rootFile: string, path: readonly string[], mapSchema: unknown, resolve: SchemaResolver): boolean {
  const found: unknown[] = [];
  if (!schemasAt(resolve(rootFile), rootFile, path, resolve, found)) return false;
  if (found.length !== 1 || found[0] !== mapSchema || !isObject(mapSchema)) return false;
  return (
    mapSchema.type === 'object' &&
    isObject(mapSchema.additionalProperties) &&
    !containsRef(mapSchema.additionalProperties) &&
    (mapSchema.minProperties === undefined || (typeof mapSchema.minProperties === 'number' && mapSchema.minProperties <= 1)) &&
    Object.keys(mapSchema).every((k) => k === 'type' || k === 'additionalProperties' || k === 'minProperties' || INERT.has(k))
  );
}

interface EntryChecker {
  validate: ValidateFunction;
  /** Schema path of the entry schema, as ajv writes it for errors under this root. */
  schemaPath: string;
}

const entryCheckers = new Map<string, EntryChecker | undefined>();

/** The validator of a mapping's entries when it may be split (see splittable), else undefined. */
function entryChecker(root: SchemaName, path: readonly string[], section: SectionName, key: string): EntryChecker | undefined {
  const rootFile = `${root}.schema.json`;
  const cacheKey = `${rootFile}\0${path.join('\0')}`;
  if (entryCheckers.has(cacheKey)) return entryCheckers.get(cacheKey);
  const file = `${section}.schema.json`;
  const pointer = `/properties/${escapePointer(key)}`;
  const mapSchema = atPointer(schemaDocument(file), pointer);
  let checker: EntryChecker | undefined;
  if (splittable(rootFile, path, mapSchema, schemaDocument)) {
    // ajv writes `#/…` for errors of the schema it was asked for, `pools.schema.json/…` for a
    // schema it reached through a `$ref` to another file.
    const base = rootFile === file ? '#' : file;
    checker = { validate: subschema(`${file}#${pointer}/additionalProperties`).validate, schemaPath: `${base}${pointer}/additionalProperties` };
  }
  entryCheckers.set(cacheKey, checker);
  return checker;
}

/** A large mapping set aside from ajv's view: its members after the first are checked here. */
export interface SetAsideMap {
  /** JSON pointer of the mapping in the validated view, as ajv writes instance paths. */
  pointer: string;
  names: readonly string[];
  values: readonly JsonValue[];
  validate: ValidateFunction;
  /** Schema path of the entry schema, as ajv writes schema paths (`#/properties/topics/additionalProperties`). */
  schemaPath: string;
}

const escapePointer = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The section as ajv should see it: each large mapping of it replaced by a stand-in with its first
 * member. `root` is the schema the view is checked against and `at` where the section stands in it
 * (`['data', 'pools']`; `[]` for a section file). Returns the value unchanged when nothing is set
 * aside; never changes the section itself.
 */
export function setAsideLargeMaps(root: SchemaName, at: readonly string[], section: SectionName, value: JsonValue, located: LocatedValue, setAside: SetAsideMap[]): JsonValue {
  if (!isObject(value)) return value;
  let view: Obj | undefined;
  for (const key of SECTION_MAPS[section]) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const members = value[key];
    if (!isObject(members)) continue;
    const names = located.memberNames(members);
    const values = located.memberValues(members);
    if (!names || !values || names.length < 2) continue;
    const path = [...at, key];
    const checker = entryChecker(root, path, section, key);
    if (!checker) continue;
    const standIn: Obj = {};
    Object.defineProperty(standIn, names[0], { value: values[0], enumerable: true, writable: true, configurable: true });
    view ??= { ...value };
    view[key] = standIn;
    setAside.push({ pointer: path.map((segment) => `/${escapePointer(segment)}`).join(''), names, values, ...checker });
  }
  return view ?? value;
}

/** The schema errors of the set-aside members (all but each mapping's first), as ajv would report them. */
export function checkSetAsideMembers(setAside: readonly SetAsideMap[]): ErrorObject[] {
  const errors: ErrorObject[] = [];
  for (const { pointer, names, values, validate, schemaPath } of setAside) {
    for (let i = 1; i < values.length; i++) {
      if (validate(values[i])) continue;
      const at = `${pointer}/${escapePointer(names[i])}`;
      for (const error of validate.errors ?? []) {
        errors.push({ ...error, instancePath: at + error.instancePath, schemaPath: schemaPath + error.schemaPath.slice(1) });
      }
    }
  }
  return errors;
}
