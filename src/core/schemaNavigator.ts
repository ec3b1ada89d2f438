import type { DocumentKind } from './classify';
import type { PathSegment } from './cursorContext';
import { SCHEMA_DOCUMENTS } from './schemaDocuments';

/**
 * What the schemas in schemas/ (the ones ajv validates with) say about one place in a document:
 * the subschema at a JSON path, with `$ref`, the envelope's if/then/else, oneOf/anyOf branches and
 * pattern/additional properties followed. Completion and hover read this, so they offer exactly
 * what validation accepts.
 */

export interface SchemaNode {
  type?: string | string[];
  description?: string;
  markdownDescription?: string;
  enum?: unknown[];
  default?: unknown;
  examples?: unknown[];
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  required?: string[];
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  allOf?: SchemaNode[];
  if?: SchemaNode;
  then?: SchemaNode;
  else?: SchemaNode;
  $ref?: string;
  definitions?: Record<string, SchemaNode>;
  pattern?: string;
  minimum?: number;
}

/** One alternative the value may take, with the file its `$ref`s resolve in. */
interface Located {
  node: SchemaNode;
  root: SchemaNode;
  /** The `definitions` entry it came from ("duration", "bound"): the value's format. */
  definition?: string;
}

const FILES = SCHEMA_DOCUMENTS as Readonly<Record<string, SchemaNode>>;

const ROOT_OF: Record<DocumentKind, string> = {
  config: 'config-document.schema.json',
  policy: 'drift-policy.schema.json',
  pools: 'pools.schema.json',
  timeouts: 'timeouts.schema.json',
};

/** Follows `$ref` (within the file or to another of ours); keeps the sibling description of a `$ref`. */
function resolve(at: Located, depth = 0): Located {
  const ref = at.node.$ref;
  if (!ref || depth > 16) return at;
  const [file, pointer = ''] = ref.split('#');
  const root = file ? FILES[file] : at.root;
  if (!root) return at;
  let node: SchemaNode | undefined = root;
  let definition: string | undefined;
  const segments = pointer.split('/').filter(Boolean);
  for (const segment of segments) node = (node as Record<string, unknown> | undefined)?.[segment] as SchemaNode | undefined;
  if (segments[0] === 'definitions') definition = segments[1];
  if (!node) return at;
  const { $ref: _ref, ...siblings } = at.node;
  const resolved = resolve({ node, root, definition }, depth + 1);
  return { ...resolved, node: { ...resolved.node, ...siblings }, definition: resolved.definition ?? definition };
}

/**
 * The alternatives at this level: oneOf/anyOf branches spread, allOf merged in, and for the
 * envelope's `if: {required: [data]}` the branch the document takes.
 */
function alternatives(at: Located, envelope: boolean): Located[] {
  const here = resolve(at);
  const node = here.node;
  if (node.if && (node.then || node.else)) {
    const takesThen = envelope === (node.if.required?.includes('data') ?? true);
    const branch = takesThen ? node.then : node.else;
    const { if: _if, then: _then, else: _else, ...rest } = node;
    return branch ? alternatives({ node: { ...rest, ...branch }, root: here.root }, envelope) : [{ ...here, node: rest }];
  }
  const branches = node.oneOf ?? node.anyOf;
  if (branches) {
    const { oneOf: _o, anyOf: _a, ...rest } = node;
    return branches.flatMap((b) => alternatives({ node: { ...rest, ...b }, root: here.root }, envelope));
  }
  return [here];
}

function child(at: Located, segment: PathSegment): Located[] {
  const node = at.node;
  if (typeof segment === 'number' || /^\d+$/.test(String(segment))) {
    if (node.items) return [{ node: node.items, root: at.root }];
  }
  const name = String(segment);
  if (node.properties && Object.prototype.hasOwnProperty.call(node.properties, name)) return [{ node: node.properties[name], root: at.root }];
  for (const [pattern, sub] of Object.entries(node.patternProperties ?? {})) {
    if (new RegExp(pattern, 'u').test(name)) return [{ node: sub, root: at.root }];
  }
  if (typeof node.additionalProperties === 'object') return [{ node: node.additionalProperties, root: at.root }];
  return [];
}

export interface SchemaInfo {
  /** Every alternative the value may take here (one for most places; a topic is a string or a list). */
  nodes: SchemaNode[];
  /** The named format of the value, from the shared definition it refers to. */
  format?: 'duration' | 'bound';
  /** The same alternatives with the file each resolves its `$ref`s in. */
  readonly places: readonly Located[];
}

/**
 * The schema at `path` in a document of `kind`. `envelope`: a config document whose root has a
 * `data` key (the Redis envelope) rather than the bare data map. Undefined when the schema says
 * nothing about that place (an unknown key).
 */
export function schemaAt(kind: DocumentKind, path: readonly PathSegment[], envelope = false): SchemaInfo | undefined {
  const rootFile = FILES[ROOT_OF[kind]];
  let current: Located[] = alternatives({ node: rootFile, root: rootFile }, envelope);
  for (const segment of path) {
    current = current.flatMap((at) => child(at, segment)).flatMap((at) => alternatives(at, envelope));
    if (current.length === 0) return undefined;
  }
  const definition = current.map((c) => c.definition).find((d) => d === 'duration' || d === 'bound') as SchemaInfo['format'];
  return { nodes: current.map((c) => c.node), format: definition, places: current };
}

export interface PropertyInfo {
  name: string;
  node: SchemaNode;
  required: boolean;
}

/** The named properties a mapping here takes (across its alternatives). */
export function propertiesOf(info: SchemaInfo): PropertyInfo[] {
  const out = new Map<string, PropertyInfo>();
  for (const { node, root } of info.places) {
    for (const [name, sub] of Object.entries(node.properties ?? {})) {
      if (out.has(name)) continue;
      const resolved = alternatives({ node: sub, root }, false);
      const merged = resolved.length === 1 ? resolved[0].node : { ...sub, ...resolved[0]?.node, type: [...new Set(resolved.flatMap((r) => typesOf(r.node)))] };
      out.set(name, { name, node: { ...merged, description: sub.description ?? merged.description, markdownDescription: sub.markdownDescription ?? merged.markdownDescription }, required: node.required?.includes(name) ?? false });
    }
  }
  return [...out.values()];
}

export function typesOf(node: SchemaNode): string[] {
  if (Array.isArray(node.type)) return node.type;
  if (node.type) return [node.type];
  if (node.enum) return [...new Set(node.enum.map((v) => (v === null ? 'null' : typeof v)))];
  if (node.properties || node.additionalProperties !== undefined) return ['object'];
  return [];
}

/** The description to show: the markdown one when there is one. */
export function describe(info: SchemaInfo): string | undefined {
  for (const node of info.nodes) {
    const text = node.markdownDescription ?? node.description;
    if (text) return text;
  }
  return undefined;
}

export function enumValues(info: SchemaInfo): unknown[] {
  return [...new Set(info.nodes.flatMap((n) => n.enum ?? []))];
}

export function defaultsAndExamples(info: SchemaInfo): unknown[] {
  const values: unknown[] = [];
  for (const n of info.nodes) {
    if (n.default !== undefined) values.push(n.default);
    for (const e of n.examples ?? []) values.push(e);
  }
  return values;
}
