import { createHash } from 'node:crypto';
import type { ErrorObject } from 'ajv';
import { writeCanonicalJson, type JsonValue, type MemberNames } from './canonical';
import type { JsonPath } from './documentModel';
import { validatorFor } from './schemas';

/**
 * Cordum's hash-gated sections: how a replica turns `data.pools` / `data.timeouts` into the hash
 * it compares before applying (normalise, validate, Go canonical JSON, SHA-256 hex).
 */
export const HASH_GATED_SECTIONS = ['pools', 'timeouts'] as const;
export type SectionName = (typeof HASH_GATED_SECTIONS)[number];

export function isSectionName(name: string): name is SectionName {
  return (HASH_GATED_SECTIONS as readonly string[]).includes(name);
}

type JsonObject = { [key: string]: JsonValue };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(object: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** Assignment that keeps a key named "__proto__" as data, as Go's maps do. */
function put(object: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

export interface NormalisedSection {
  /** What the replica validates and hashes. */
  value: JsonValue;
  /** Top-level keys the replica drops (and so never applies), with the reason. */
  ignored: { key: string; reason: string }[];
  /** Maps a path inside `value` back to the path in the source section (capitalised and legacy names). */
  sourcePath(path: JsonPath): JsonPath;
}

// Legacy CamelCase inner names, renamed only under a capitalised outer key, as Cordum does.
const TOPIC_FIELDS: [string, string][] = [['timeout_seconds', 'TimeoutSeconds'], ['max_retries', 'MaxRetries']];
const WORKFLOW_FIELDS: [string, string][] = [
  ['child_timeout_seconds', 'ChildTimeoutSeconds'],
  ['total_timeout_seconds', 'TotalTimeoutSeconds'],
  ['max_retries', 'MaxRetries'],
];
const RECONCILER_FIELDS: [string, string][] = [
  ['dispatch_timeout_seconds', 'DispatchTimeoutSeconds'],
  ['running_timeout_seconds', 'RunningTimeoutSeconds'],
  ['scan_interval_seconds', 'ScanIntervalSeconds'],
];

/** Picks the snake_case field, else its CamelCase spelling; returns the new map and which source key fed each field. */
function pickFields(item: JsonObject, fields: [string, string][]): { out: JsonObject; from: Map<string, string> } {
  const out: JsonObject = {};
  const from = new Map<string, string>();
  for (const [snake, camel] of fields) {
    if (has(item, snake)) {
      out[snake] = item[snake];
      from.set(snake, snake);
    } else if (has(item, camel)) {
      out[snake] = item[camel];
      from.set(snake, camel);
    }
  }
  return { out, from };
}

/** Per-item normalisation of topics/workflows maps: an item with no known field is kept as it is. */
function normaliseItems(value: JsonValue, fields: [string, string][], renames: Map<string, Map<string, string>>): JsonValue {
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const name of Object.keys(value)) {
    const item = value[name];
    if (!isObject(item)) {
      put(out, name, item);
      continue;
    }
    const picked = pickFields(item, fields);
    if (Object.keys(picked.out).length === 0) {
      put(out, name, item);
    } else {
      put(out, name, picked.out);
      renames.set(name, picked.from);
    }
  }
  return out;
}

export function normaliseSection(section: SectionName, raw: JsonValue): NormalisedSection {
  if (!isObject(raw)) return { value: raw, ignored: [], sourcePath: (p) => p };
  const out: JsonObject = {};
  const outerFrom = new Map<string, string>();
  // inner renames: outer key -> item name (or '' for reconciler) -> snake -> source key
  const innerFrom = new Map<string, Map<string, Map<string, string>>>();
  const keys: [string, string][] = section === 'pools' ? [['topics', 'Topics'], ['pools', 'Pools']] : [['topics', 'Topics'], ['workflows', 'Workflows'], ['reconciler', 'Reconciler']];
  for (const [lower, capital] of keys) {
    if (has(raw, lower)) {
      out[lower] = raw[lower];
      outerFrom.set(lower, lower);
    } else if (has(raw, capital)) {
      outerFrom.set(lower, capital);
      const value = raw[capital];
      if (section === 'pools') {
        out[lower] = value;
      } else if (lower === 'reconciler') {
        if (isObject(value)) {
          const picked = pickFields(value, RECONCILER_FIELDS);
          out[lower] = picked.out;
          innerFrom.set(lower, new Map([['', picked.from]]));
        } else {
          out[lower] = value;
        }
      } else {
        const renames = new Map<string, Map<string, string>>();
        out[lower] = normaliseItems(value, lower === 'topics' ? TOPIC_FIELDS : WORKFLOW_FIELDS, renames);
        innerFrom.set(lower, renames);
      }
    }
  }
  const kept = new Set(outerFrom.values());
  const ignored = Object.keys(raw)
    .filter((key) => !kept.has(key))
    .map((key) => {
      const lower = key.toLowerCase();
      const shadowed = keys.some(([l, c]) => c === key && l === lower);
      return {
        key,
        reason: shadowed
          ? `"${key}" is ignored by replicas: "${lower}" is also present and takes precedence.`
          : `"${key}" is ignored by replicas: the ${section} section keeps only ${keys.map(([l]) => l).join(', ')}.`,
      };
    });
  const sourcePath = (path: JsonPath): JsonPath => {
    if (path.length === 0) return path;
    const outer = String(path[0]);
    const mapped: (string | number)[] = [outerFrom.get(outer) ?? outer, ...path.slice(1)];
    const inner = innerFrom.get(outer);
    if (inner) {
      if (outer === 'reconciler' && path.length >= 2) {
        mapped[1] = inner.get('')?.get(String(path[1])) ?? path[1];
      } else if (path.length >= 3) {
        mapped[2] = inner.get(String(path[1]))?.get(String(path[2])) ?? path[2];
      }
    }
    return mapped;
  };
  return { value: out, ignored, sourcePath };
}

export interface SectionHashResult {
  section: SectionName;
  /** Lowercase hex SHA-256 of the canonical bytes; absent when the section is invalid (replicas apply nothing). */
  hash?: string;
  /** The canonical JSON the hash covers (what `explain` shows). */
  canonical?: string;
  normalised: NormalisedSection;
  /** Schema errors of the normalised section, paths relative to it. */
  errors: ErrorObject[];
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** What a replica computes for one section of `data`. */
export function computeSectionHash(section: SectionName, raw: JsonValue): SectionHashResult {
  const normalised = normaliseSection(section, raw);
  const validate = validatorFor(section);
  const valid = validate(normalised.value) as boolean;
  if (!valid) return { section, normalised, errors: [...(validate.errors ?? [])] };
  return hashValidSection(section, normalised);
}

/** The hash of a section already known to be valid (validated as part of its document). */
/** `memberNames`: the parse's own key lists, where the section's objects come straight from one (see MemberNames). */
export function hashValidSection(section: SectionName, normalised: NormalisedSection, memberNames?: MemberNames): SectionHashResult {
  // Hashed chunk by chunk as it is written (see writeCanonicalJson), and kept for `explain`.
  const hash = createHash('sha256');
  const chunks: string[] = [];
  writeCanonicalJson(normalised.value, (chunk) => {
    hash.update(chunk, 'utf8');
    chunks.push(chunk);
  }, memberNames);
  const canonical = chunks.length === 1 ? chunks[0] : chunks.join('');
  return { section, hash: hash.digest('hex'), canonical, normalised, errors: [] };
}
