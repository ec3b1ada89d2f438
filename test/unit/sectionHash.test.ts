import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonValue } from '../../src/core/canonical';
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
