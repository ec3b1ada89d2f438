import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { analyzeDocument } from '../../src/core/analysis';
import { canonicalJson, type JsonValue } from '../../src/core/canonical';
import { LARGE_OBJECT_MEMBERS } from '../../src/core/documentModel';
import { computeSectionHash, normaliseSection } from '../../src/core/sectionHash';

test('pools keeps only topics and pools; capitalised names are fallbacks, lowercase wins', () => {
  const lower = computeSectionHash('pools', { topics: { t: 'p' } });
  assert.equal(computeSectionHash('pools', { Topics: { t: 'p' } }).hash, lower.hash);
  assert.equal(computeSectionHash('pools', { topics: { t: 'p' }, Topics: { t: 'other' } }).hash, lower.hash);
  assert.equal(computeSectionHash('pools', { topics: { t: 'p' }, note: 'x', _y: [1] }).hash, lower.hash);
  assert.deepEqual(
    normaliseSection('pools', { topics: { t: 'p' }, Topics: {}, note: 1 }).ignored.map((i) => i.key),
    ['Topics', 'note'],
  );
});

test('"p" and ["p"] route the same but hash differently', () => {
  assert.notEqual(computeSectionHash('pools', { topics: { t: 'p' } }).hash, computeSectionHash('pools', { topics: { t: ['p'] } }).hash);
});

test('legacy CamelCase inner names are renamed only under a capitalised outer key', () => {
  const modern = computeSectionHash('timeouts', { reconciler: { dispatch_timeout_seconds: 1 }, topics: { t: { timeout_seconds: 5, max_retries: 1 } } });
  const legacy = computeSectionHash('timeouts', { Reconciler: { DispatchTimeoutSeconds: 1 }, Topics: { t: { TimeoutSeconds: 5, MaxRetries: 1 } } });
  assert.ok(modern.hash);
  assert.equal(legacy.hash, modern.hash);
  // Under a lowercase key the CamelCase name stays and fails the schema: no hash, nothing applied.
  const mixed = computeSectionHash('timeouts', { topics: { t: { TimeoutSeconds: 5 } } });
  assert.equal(mixed.hash, undefined);
  assert.equal(mixed.errors[0].keyword, 'additionalProperties');
});

test('an invalid section has no hash (replicas keep their last applied one)', () => {
  const invalid: JsonValue[] = [{}, { topics: {} }, { topics: { t: '' } }, { topics: { t: [] } }, 'text', null, [1]];
  for (const raw of invalid) {
    assert.equal(computeSectionHash('pools', raw).hash, undefined, JSON.stringify(raw));
  }
  assert.equal(computeSectionHash('timeouts', { reconciler: { scan_interval_seconds: 1.5 } }).hash, undefined);
  assert.equal(computeSectionHash('timeouts', { reconciler: { scan_interval_seconds: -1 } }).hash, undefined);
});

test('the explanation is the exact canonical JSON that was hashed', () => {
  const result = computeSectionHash('pools', { pools: { default: { requires: [] } }, topics: { 'job.default': 'default' } });
  assert.equal(result.canonical, '{"pools":{"default":{"requires":[]}},"topics":{"job.default":"default"}}');
});

test('a section written in many chunks hashes the bytes of its whole canonical JSON', () => {
  // About 1.5 MB of canonical JSON, several of the writer's chunks, with escapes on both sides of
  // every boundary. The reference is independent of the writer: for ASCII text, Go's canonical JSON
  // is JSON.stringify of the key-sorted value with <, > and & escaped.
  const topics: { [topic: string]: JsonValue } = {};
  const pools: { [pool: string]: JsonValue } = {};
  for (let i = 30_000; i > 0; i--) {
    topics[`job.team-${i}.<process>&run`] = i % 3 === 0 ? [`pool-${i}`, 'shared'] : `pool-${i}`;
    pools[`pool-${i}`] = { requires: [`cap-${i}`], status: 'active' };
  }
  pools.shared = { requires: [] };
  const sorted = (value: JsonValue): JsonValue =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])]))
      : value;
  const reference = JSON.stringify(sorted({ pools, topics })).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
  assert.ok(reference.length > 1_000_000);
  const result = computeSectionHash('pools', { topics, pools });
  assert.equal(result.canonical, reference);
  assert.equal(result.hash, createHash('sha256').update(reference, 'utf8').digest('hex'));
  assert.equal(canonicalJson({ pools, topics }), reference);
});

test("a large section read from YAML hashes as the same data read by JSON.parse (the parse's own key lists stand in for Object.keys)", () => {
  // Over LARGE_OBJECT_MEMBERS topics and pools, in no sorted order, with array-index names (which
  // Object.keys puts first, the parse in source order) and an astral name (the writer's other path).
  const lines = ['pools:', '  topics:'];
  const poolLines = ['  pools:'];
  for (let i = 0; i < LARGE_OBJECT_MEMBERS + 500; i++) {
    const n = (i * 7919) % (LARGE_OBJECT_MEMBERS + 500);
    const topic = n % 100 === 0 ? String(n) : n % 250 === 1 ? `job.😀-${n}` : `job.team-${n}.process`;
    lines.push(`    "${topic}": pool-${n}`);
    poolLines.push(`    pool-${n}:`, `      requires: [cap-${n}]`);
  }
  const text = [...lines, ...poolLines, ''].join('\n');
  const analysis = analyzeDocument(text, 'yaml', 'config');
  assert.deepEqual(analysis.problems.filter((p) => p.severity === 'error'), []);
  const data = analysis.data as { pools: { topics: object; pools: object } };
  assert.ok(analysis.parsed.located.memberNames(data.pools.topics), 'the topics are one of the large objects');
  assert.notDeepEqual(analysis.parsed.located.memberNames(data.pools.topics), Object.keys(data.pools.topics), 'source order differs from Object.keys order');
  const fromJson = computeSectionHash('pools', JSON.parse(JSON.stringify(data.pools)) as JsonValue);
  const section = analysis.sections.find((s) => s.name === 'pools');
  assert.equal(section?.canonical, fromJson.canonical);
  assert.equal(section?.hash, fromJson.hash);
});
