import type { ErrorObject, ValidateFunction } from 'ajv';
import type { JsonValue } from './canonical';
import type { LocatedValue } from './documentModel';
import { subschema } from './schemas';
import type { SectionName } from './sectionHash';

/**
 * Schema checks of a section's large mappings (an 8 MB document's 113,000 topics and as many pools)
 * entry by entry, in source order from the parse, instead of by ajv's `for (key in map)`. Why: V8
 * keeps a mapping that large as a hash table; a for-in over it collects the keys, sorts them back
 * into insertion order and looks each one up twice, all at random places in memory. On an 8 MB
 * document that made the schema check cost about twice as much per MB as on a 256 KB one.
 *
 * How, without changing a single problem: ajv checks the section with each large mapping replaced
 * by a stand-in holding only its first member, and every other member is checked by a validator of
 * the mapping's `additionalProperties` schema, its errors placed where ajv would have placed them
 * (instance path under the mapping, schema path under `additionalProperties`). Only mappings whose
 * schema says nothing else about them are split this way (see splittable): no `properties`, no
 * `required`, no `maxProperties`, no `$ref` inside the entry schema whose paths would differ.
 */

/** The mappings of each section that may be large, and their schemas. */
const SECTION_MAPS: Record<SectionName, readonly { key: string; ref: string }[]> = {
  pools: [
    { key: 'topics', ref: 'pools.schema.json#/properties/topics' },
    { key: 'pools', ref: 'pools.schema.json#/properties/pools' },
  ],
  timeouts: [
    { key: 'topics', ref: 'timeouts.schema.json#/properties/topics' },
    { key: 'workflows', ref: 'timeouts.schema.json#/properties/workflows' },
  ],
};

/** Keywords that only annotate: they never fail and never change what is checked. */
const ANNOTATIONS = new Set(['description', 'markdownDescription', 'title', 'examples', 'default', '$comment']);

type Obj = { [key: string]: JsonValue };
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function containsRef(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.some(containsRef);
  if (!isObject(schema)) return false;
  return Object.keys(schema).some((k) => k === '$ref' || k === '$dynamicRef' || k === '$recursiveRef' || containsRef(schema[k]));
}

/**
 * The validator of a mapping's entries when the mapping's schema is only `type: object`,
 * `additionalProperties: {…}` and at most `minProperties: 1` (which a stand-in of one member meets
 * exactly when the mapping does); otherwise undefined, and ajv checks the mapping whole.
 */
const entryCheckers = new Map<string, { validate: ValidateFunction; schemaPath: string } | undefined>();
function entryChecker(ref: string): { validate: ValidateFunction; schemaPath: string } | undefined {
  if (entryCheckers.has(ref)) return entryCheckers.get(ref);
  const schema = subschema(ref).schema as Obj;
  const splittable =
    isObject(schema) &&
    schema.type === 'object' &&
    isObject(schema.additionalProperties) &&
    !containsRef(schema.additionalProperties) &&
    (schema.minProperties === undefined || (typeof schema.minProperties === 'number' && schema.minProperties <= 1)) &&
    Object.keys(schema).every((k) => k === 'type' || k === 'additionalProperties' || k === 'minProperties' || ANNOTATIONS.has(k));
  const checker = splittable ? { validate: subschema(`${ref}/additionalProperties`).validate, schemaPath: `#${ref.slice(ref.indexOf('#') + 1)}/additionalProperties` } : undefined;
  entryCheckers.set(ref, checker);
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
 * member. `pointer` is where the section stands in the validated view ('' for a section file).
 * Returns the value unchanged when nothing is set aside; never changes the section itself.
 */
export function setAsideLargeMaps(section: SectionName, value: JsonValue, located: LocatedValue, pointer: string, setAside: SetAsideMap[]): JsonValue {
  if (!isObject(value)) return value;
  let view: Obj | undefined;
  for (const { key, ref } of SECTION_MAPS[section]) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const map = value[key];
    if (!isObject(map)) continue;
    const names = located.memberNames(map);
    const values = located.memberValues(map);
    if (!names || !values || names.length < 2) continue;
    const checker = entryChecker(ref);
    if (!checker) continue;
    const standIn: Obj = {};
    Object.defineProperty(standIn, names[0], { value: values[0], enumerable: true, writable: true, configurable: true });
    view ??= { ...value };
    view[key] = standIn;
    setAside.push({ pointer: `${pointer}/${escapePointer(key)}`, names, values, ...checker });
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
