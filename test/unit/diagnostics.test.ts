import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeDocument } from '../../src/core/analysis';
import { MAX_DOCUMENT_BYTES, parseDocumentText } from '../../src/core/document';
import { fixture, problemsAt } from './helpers';

// Each expectation: start-end (1-based line:col) severity code, in document order.

test("the seed's drift policy sheet validates as written", () => {
  const analysis = analyzeDocument(fixture('policy/drift-policy.yaml'), 'yaml', 'policy');
  assert.deepEqual(analysis.problems, []);
  assert.equal(analysis.policy?.pollIntervalMs, 30_000);
  assert.deepEqual(analysis.policy?.sections, ['pools', 'timeouts']);
  assert.deepEqual(analysis.policy?.slo.notificationOk, { inclusive: true, ms: 5000 });
});

test('policy: wrong durations and bounds are marked on their values', () => {
  assert.deepEqual(problemsAt(fixture('policy/bad-duration.drift-policy.yaml'), 'p.yaml', 'policy'), [
    '8:15-8:25 error pattern', // interval: 30 seconds
    '15:22-15:26 error pattern', // notification_ok: "5s"
  ]);
});

test('policy: unknown and repeated sections are marked on the item', () => {
  assert.deepEqual(problemsAt(fixture('policy/unknown-section.drift-policy.yaml'), 'p.yaml', 'policy'), [
    '12:9-12:16 error enum', // - routing
    '13:9-13:14 error uniqueItems', // the second - pools
  ]);
});

test('policy: bad subject, store, key, mode and an unknown field', () => {
  assert.deepEqual(problemsAt(fixture('policy/bad-subject.drift-policy.yaml'), 'p.yaml', 'policy'), [
    '2:20-2:24 error enum',
    '3:15-3:36 error pattern',
    '5:14-5:26 error pattern',
    '6:11-6:16 error enum',
    '14:3-14:10 error additionalProperties', // the key "retries"
  ]);
});

test('policy: missing properties go on the parent key; a password in the file is refused', () => {
  assert.deepEqual(problemsAt(fixture('policy/missing-parts.drift-policy.yaml'), 'p.yaml', 'policy'), [
    '1:1-1:14 error required', // drift_control lacks hash_gate
    '4:3-4:16 error required', // notifications lacks subject
    '14:7-14:15 error not', // password
  ]);
});

test('policy: a notification_lost budget below the poll interval is a warning', () => {
  const text = fixture('policy/drift-policy.yaml').replace('notification_lost: "<= 30s"', 'notification_lost: "<= 10s"');
  assert.deepEqual(problemsAt(text, 'p.yaml', 'policy'), ['17:24-17:32 warning slo-below-poll-interval']);
});

test('config: schema errors sit on the exact values, ignored keys warn', () => {
  assert.deepEqual(problemsAt(fixture('config/cfg.broken.yaml'), 'cfg.broken.yaml', 'config'), [
    '5:18-5:20 error oneOf', // job.empty: []
    '8:20-8:21 error type', // requires: [1]
    '9:17-9:24 error enum', // status: drainin
    '10:5-10:13 warning ignored-by-replicas', // _comment
    '13:33-13:38 error type', // "300"
    '14:30-14:32 error minimum', // -1
    '15:7-15:17 error additionalProperties', // scan_every
  ]);
});

test('config: what JSON cannot hold is an error at its place', () => {
  assert.deepEqual(problemsAt(fixture('config/cfg.json-unsafe.yaml'), 'cfg.json-unsafe.yaml', 'config'), [
    '5:7-5:18 error duplicate-key',
    '6:7-6:8 error json-non-string-key',
    '9:30-9:34 error json-non-finite',
    '10:33-10:53 warning json-precision',
  ]);
});

test('config: YAML syntax errors are reported where the parser stopped, with the data problems before them', () => {
  const problems = problemsAt(fixture('config/cfg.syntax.yaml'), 'cfg.syntax.yaml', 'config');
  assert.deepEqual(problems.slice(0, 2), ['5:7-5:18 error duplicate-key', '6:7-6:8 error json-non-string-key']);
  assert.match(problems[2], /^8:1-8:1 error yaml-syntax$/);
});

test('config: an alias bomb is refused at the alias that explodes', () => {
  const analysis = analyzeDocument(fixture('config/cfg.alias-bomb.yaml'), 'yaml', 'config');
  const bomb = analysis.problems.find((p) => p.code === 'yaml-alias-bomb');
  assert.ok(bomb, 'alias bomb reported');
  assert.deepEqual(problemsAt(fixture('config/cfg.alias-bomb.yaml'), 'cfg.alias-bomb.yaml', 'config'), ['5:29-5:31 error yaml-alias-bomb']);
});

test('config: JSON syntax errors name what was expected, at the offending character', () => {
  assert.deepEqual(problemsAt(fixture('config/cfg.broken.json'), 'cfg.broken.json', 'config'), ['4:45-4:46 error json-syntax']);
  const analysis = analyzeDocument(fixture('config/cfg.broken.json'), 'json', 'config');
  assert.equal(analysis.problems[0].message, 'Trailing comma before "}" is not allowed in JSON.');
});

test('config: the envelope in YAML and in JSON (other key order) give the same hashes and no problems', () => {
  const yaml = analyzeDocument(fixture('config/cfg.system.default.yaml'), 'yaml', 'config');
  const json = analyzeDocument(fixture('config/cfg.system.default.json'), 'json', 'config');
  assert.deepEqual(yaml.problems, []);
  assert.deepEqual(json.problems, []);
  assert.equal(yaml.isEnvelope, true);
  assert.deepEqual(
    yaml.sections.map((s) => [s.name, s.hash]),
    json.sections.map((s) => [s.name, s.hash]),
  );
  assert.equal(yaml.sections.length, 2);
});

test('section files: the real Cordum pools and timeouts files validate and hash', () => {
  const pools = analyzeDocument(fixture('cordum/pools.yaml'), 'yaml', 'pools');
  const timeouts = analyzeDocument(fixture('cordum/timeouts.yaml'), 'yaml', 'timeouts');
  // Five pools of the real file serve no topic: notes, not warnings (replicas apply it as it is).
  assert.deepEqual(pools.problems.map((p) => `${p.severity} ${p.code} ${p.data?.pool}`), ['megacorp-banking', 'megacorp-compliance', 'megacorp-audit', 'b2b-governance', 'b2b-payment'].map((name) => `info unused-pool ${name}`));
  assert.deepEqual(timeouts.problems, []);
  assert.match(pools.sections[0].hash ?? '', /^[0-9a-f]{64}$/);
  // timeouts.yaml is the third public vector, written as YAML with comments.
  assert.equal(timeouts.sections[0].hash, '5e102673f6609b6d6f16962652cd082132e06c4ed95d48b761d341cd1d78ec12');
});

test('an oversized document is refused with a clear message and nothing else', () => {
  const text = 'a: "' + 'x'.repeat(MAX_DOCUMENT_BYTES) + '"\n';
  const parsed = parseDocumentText(text, 'yaml');
  assert.equal(parsed.problems.length, 1);
  assert.equal(parsed.problems[0].code, 'document-too-large');
  assert.match(parsed.problems[0].message, /8\.0 MB; DriftLens reads documents up to 8 MB/);
});

test('an empty document says so', () => {
  assert.deepEqual(problemsAt('# nothing yet\n', 'cfg.a.yaml', 'config'), ['1:1-1:1 error empty-document']);
});
