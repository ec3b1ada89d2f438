import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ErrorObject } from 'ajv';
import { analyzeDocument, type DocumentAnalysis } from '../../src/core/analysis';
import type { JsonValue } from '../../src/core/canonical';
import { parseDocumentText } from '../../src/core/document';
import { LARGE_OBJECT_MEMBERS } from '../../src/core/documentModel';
import { checkSetAsideMembers, setAsideLargeMaps, splittable, type SetAsideMap } from '../../src/core/largeMaps';
import { validatorFor } from '../../src/core/schemas';

/**
 * Large mappings are schema-checked entry by entry beside ajv (largeMaps.ts). Whatever the entries
 * hold, a person must see exactly the problems ajv's own check of the whole mapping gives, at the
 * same places, and the same section hashes or reasons.
 */

const MEMBERS = LARGE_OBJECT_MEMBERS + 6;

/** Wrong or odd entries, each as the YAML of a mapping value (after `key:`), beside valid ones. */
const badTopic = fc.constantFrom(' 5', ' ""', ' []', ' [pool-1, 7]', ' [""]', ' {a: b}', ' null', ' true', ' [pool-1, pool-1]');
const badPool = fc.constantFrom(
  ' 5',
  ' {requires: nope}',
  ' {requires: [""]}',
  ' {requires: [], status: retired}',
  ' {requires: [], colour: blue}',
  ' {requires: [], drain_timeout_seconds: -1}',
  ' {requires: [], drain_timeout_seconds: 1.5}',
  ' {requires: [], drain_started_at: 7}',
  ' []',
  ' null',
);
const badTimeout = fc.constantFrom(' 5', ' {timeout_seconds: -3}', ' {timeout_seconds: "30s"}', ' {max_retries: 1.5, retries: 2}', ' []');

/** Member i of a mapping: a bad entry where `bad` says so, else a valid one. */
function members(indent: string, name: (i: number) => string, good: (i: number) => string, bad: Map<number, string>): string {
  let out = '';
  for (let i = 0; i < MEMBERS; i++) out += `${indent}${name(i)}:${bad.get(i) ?? good(i)}\n`;
  return out;
}

const badAt = <T>(entry: fc.Arbitrary<T>) => fc.array(fc.tuple(fc.nat(MEMBERS - 1), entry), { maxLength: 5 }).map((pairs) => new Map(pairs));

/** Problems in document order, and what each section got. */
function seen(analysis: DocumentAnalysis): unknown {
  const problems = [...analysis.problems].sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end || a.message.localeCompare(b.message));
  return { problems, sections: analysis.sections.map(({ name, hash, reason }) => ({ name, hash, reason })) };
}

function assertSameAsWhole(text: string, kind: 'config' | 'pools' | 'timeouts'): DocumentAnalysis {
  const byEntry = analyzeDocument(text, 'yaml', kind);
  const whole = analyzeDocument(text, 'yaml', kind, { largeMapsWhole: true });
  assert.deepEqual(seen(byEntry), seen(whole));
  return byEntry;
}

test('large mappings checked entry by entry give the problems of the whole check: config documents, bare and in an envelope', () => {
  fc.assert(
    fc.property(badAt(badTopic), badAt(badPool), badAt(badTimeout), fc.boolean(), (topics, pools, timeouts, envelope) => {
      const i = envelope ? '  ' : '';
      const text =
        (envelope ? 'revision: 3\ndata:\n' : '') +
        `${i}pools:\n${i}  topics:\n` +
        members(`${i}    `, (k) => `job.team-${k}.process`, (k) => ` pool-${k}`, topics) +
        `${i}  pools:\n` +
        members(`${i}    `, (k) => (k === 3 ? '__proto__' : `pool-${k}`), () => ' {requires: []}', pools) +
        `${i}timeouts:\n${i}  topics:\n` +
        members(`${i}    `, (k) => `job.team-${k}.process`, (k) => ` {timeout_seconds: ${k}}`, timeouts) +
        `${i}  workflows: {}\n`;
      assertSameAsWhole(text, 'config');
    }),
    { numRuns: 60 },
  );
});

test('large mappings checked entry by entry give the problems of the whole check: section files, capitalised keys included', () => {
  fc.assert(
    fc.property(badAt(badTopic), badAt(badPool), badAt(badTimeout), fc.boolean(), (topics, pools, timeouts, capitalised) => {
      const pools_ =
        `${capitalised ? 'Topics' : 'topics'}:\n` +
        members('  ', (k) => (k % 97 === 5 ? `"job/${k}~x"` : `job.team-${k}.process`), (k) => ` [pool-${k}]`, topics) +
        `${capitalised ? 'Pools' : 'pools'}:\n` +
        members('  ', (k) => `pool-${k}`, () => ' {requires: [gpu], status: active}', pools);
      assertSameAsWhole(pools_, 'pools');
      const timeouts_ = 'workflows:\n' + members('  ', (k) => `wf-${k}`, (k) => ` {max_retries: ${k % 4}}`, timeouts) + 'topics: {}\n';
      assertSameAsWhole(timeouts_, 'timeouts');
    }),
    { numRuns: 40 },
  );
});

test('a bad entry deep in a large mapping is reported at its place, with the section refused', () => {
  const text =
    'pools:\n  topics:\n' +
    members('    ', (k) => `job.team-${k}.process`, (k) => ` pool-${k}`, new Map([[700, ' 5']])) +
    '  pools:\n' +
    members('    ', (k) => `pool-${k}`, () => ' {requires: []}', new Map([[900, ' {requires: [], status: retired}']]));
  const analysis = assertSameAsWhole(text, 'config');
  const errors = analysis.problems.filter((p) => p.severity === 'error').sort((a, b) => a.span.start - b.span.start);
  assert.deepEqual(
    errors.map((p) => text.slice(p.span.start, p.span.end)),
    ['5', 'retired'],
    errors.map((p) => p.message).join('\n'),
  );
  assert.match(errors[1].message, /status/);
  assert.match(analysis.sections.find((s) => s.name === 'pools')?.reason ?? '', /2 schema errors/);
});

test('the errors of set-aside members are the errors ajv gives for them: instance path, schema path, keyword, params, data', () => {
  const text =
    'topics:\n' +
    members('  ', (k) => (k === 9 ? '"a/b~c"' : `job.team-${k}.process`), (k) => ` pool-${k}`, new Map([[9, ' [pool-1, 7]'], [1000, ' ""'], [0, ' 5']])) +
    'pools:\n' +
    members('  ', (k) => `pool-${k}`, () => ' {requires: []}', new Map([[1, ' {requires: [], status: retired, colour: blue}'], [MEMBERS - 1, ' {drain_timeout_seconds: -1}']]));
  const indent = (by: string) => text.replace(/^/gm, by).replace(/ +$/, '');
  const cases = [
    { root: 'pools' as const, at: [], text },
    { root: 'config-document' as const, at: ['pools'], text: `pools:\n${indent('  ')}` },
    { root: 'config-document' as const, at: ['data', 'pools'], text: `revision: 1\ndata:\n  pools:\n${indent('    ')}` },
  ];
  for (const { root, at, text: document } of cases) {
    const located = parseDocumentText(document, 'yaml').located;
    const child = (v: JsonValue, k: string): JsonValue => (v as Record<string, JsonValue>)[k];
    const data = at.reduce(child, located.value!);
    const setAside: SetAsideMap[] = [];
    const section = setAsideLargeMaps(root, at, 'pools', data, located, setAside);
    const prefix = at.map((k) => `/${k}`).join('');
    assert.deepEqual(setAside.map((m) => m.pointer), [`${prefix}/topics`, `${prefix}/pools`], `${root} at ${prefix}: both mappings are set aside`);
    // The view ajv sees: the section replaced, nothing else changed.
    const view = at.length === 0 ? section : structuredClone(located.value!);
    if (at.length > 0) (at.slice(0, -1).reduce(child, view) as Record<string, JsonValue>)[at[at.length - 1]] = section;
    const validate = validatorFor(root);
    // ajv's `#/if` error (config documents) comes only with its own failures; validation.ts never shows it.
    const key = (e: ErrorObject) => (e.schemaPath === '#/if' ? [] : [JSON.stringify([e.instancePath, e.schemaPath, e.keyword, e.params, e.message, e.data])]);
    const split = [...(validate(view) ? [] : validate.errors!), ...checkSetAsideMembers(setAside)].flatMap(key).sort();
    const whole = (validate(located.value) ? [] : validate.errors!).flatMap(key).sort();
    assert.ok(whole.length >= 8, `${root} at ${prefix}: errors to compare (${whole.length})`);
    assert.deepEqual(split, whole, `${root} at ${prefix}`);
  }
});

test('every large mapping the schemas allow is set aside: topics and pools, timeouts topics and workflows', () => {
  const entries = (name: string) => members('  ', (k) => `${name}-${k}`, () => ' {}', new Map());
  const cases = [
    { section: 'pools' as const, text: `topics:\n${members('  ', (k) => `t-${k}`, () => ' p', new Map())}pools:\n${entries('p')}`, pointers: ['/topics', '/pools'] },
    { section: 'timeouts' as const, text: `topics:\n${entries('t')}workflows:\n${entries('w')}`, pointers: ['/topics', '/workflows'] },
  ];
  for (const { section, text, pointers } of cases) {
    const located = parseDocumentText(text, 'yaml').located;
    const setAside: SetAsideMap[] = [];
    setAsideLargeMaps(section, [], section, located.value!, located, setAside);
    assert.deepEqual(setAside.map((m) => m.pointer), pointers, `${section}: a schema change that stops this would quietly bring back ajv's for-in over 100,000 keys`);
  }
});

test('a mapping is split only when no other schema could see it whole', () => {
  const entry = { type: 'string', minLength: 1 };
  const map = () => ({ type: 'object', minProperties: 1, description: 'd', additionalProperties: entry });
  /** A section schema with `topics` as its mapping, changed by `edit`, and a document schema that $refs it. */
  const check = (edit: (section: Record<string, unknown>, topics: Record<string, unknown>) => void, root: 'doc' | 'section' = 'doc') => {
    const topics: Record<string, unknown> = map();
    const section: Record<string, unknown> = { type: 'object', additionalProperties: false, required: ['topics'], properties: { topics } };
    edit(section, topics);
    const documents: Record<string, unknown> = {
      'section.json': section,
      'doc.json': { type: 'object', if: { required: ['data'] }, then: { $ref: '#/definitions/envelope' }, else: { $ref: '#/definitions/data' }, definitions: { envelope: { type: 'object', additionalProperties: false, properties: { data: { $ref: '#/definitions/data' } } }, data: { type: 'object', properties: { pools: { $ref: 'section.json' } } } } },
    };
    const path = root === 'doc' ? ['data', 'pools', 'topics'] : ['topics'];
    return splittable(`${root === 'doc' ? 'doc' : 'section'}.json`, path, topics, (file) => documents[file]);
  };
  assert.equal(check(() => {}), true, 'as the schemas are today');
  assert.equal(check(() => {}, 'section'), true, 'from the section file');
  assert.equal(check((s) => (s.allOf = [{ properties: { topics: { maxProperties: 1025 } } }])), false, 'allOf at the section');
  assert.equal(check((s) => (s.if = { properties: { topics: { required: ['x'] } } })), false, 'if at the section');
  assert.equal(check((s) => (s.patternProperties = { '^top': { minProperties: 3 } })), false, 'patternProperties naming it');
  assert.equal(check((s) => (s.patternProperties = { '^pools$': { minProperties: 3 } })), true, 'patternProperties naming something else');
  assert.equal(check((s) => (s.enum = [{}])), false, 'enum at the section compares it whole');
  assert.equal(check((s) => (s.dependencies = { topics: { properties: { topics: { maxProperties: 2 } } } })), false, 'a dependency schema reaching it');
  assert.equal(check((_, t) => (t.maxProperties = 5000)), false, 'maxProperties');
  assert.equal(check((_, t) => (t.minProperties = 2)), false, 'minProperties above 1');
  assert.equal(check((_, t) => (t.propertyNames = { pattern: '^j' })), false, 'propertyNames');
  assert.equal(check((s) => (s.allOf = [{ properties: { topics: { dependencies: { a: ['b'] } } } }])), false, 'a dependency on its keys, through allOf');
  assert.equal(check((_, t) => (t.additionalProperties = { $ref: '#/definitions/x' })), false, 'a $ref in the entry schema');
  assert.equal(check((s) => (s.not = { properties: { topics: { required: ['a'] } } })), false, 'not, at the section');
  assert.equal(check((_, t) => (t.not = { required: ['a'] })), false, 'not, on it');
});
