import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeDocument } from '../../src/core/analysis';
import type { JsonValue } from '../../src/core/canonical';
import { configKeyProblem } from '../../src/core/documentKey';
import { subjectProblem } from '../../src/core/natsSubject';
import { decidePublish, withSection, type LiveRevision } from '../../src/core/publishFlow';
import { fixture } from './helpers';

type DataMap = { [key: string]: JsonValue };

test('subjects: NATS rules for publishing, and the policy schema says the same with its own message', () => {
  const publishable = ['sys.config.changed', 'a', 'cfg_1.x-y', 'ünïcode.subject', '$SYS.x'];
  const refused: [string, RegExp][] = [
    ['a b', /contains whitespace/],
    ['', /cannot be empty/],
    ['a\tb', /contains whitespace/],
    ['a\u0000b', /control character/],
    ['a\u001bb', /control character/],
    ['.a', /empty token/],
    ['a.', /empty token/],
    ['a..b', /empty token/],
    ['sys.*', /wildcards/],
    ['sys.>', /wildcards/],
    ['>', /wildcards/],
  ];
  const policy = fixture('policy/drift-policy.yaml');
  const schemaSays = (subject: string) =>
    analyzeDocument(policy.replace('subject: sys.config.changed', `subject: ${JSON.stringify(subject)}`), 'yaml', 'policy').problems.filter((p) => p.severity === 'error').map((p) => p.message);
  for (const subject of publishable) {
    assert.equal(subjectProblem(subject), undefined, subject);
    assert.deepEqual(schemaSays(subject), [], subject);
  }
  for (const [subject, reason] of refused) {
    assert.match(subjectProblem(subject) ?? '', reason, JSON.stringify(subject));
    const messages = schemaSays(subject);
    assert.equal(messages.length, 1, `${JSON.stringify(subject)}: ${messages.join('; ')}`);
    assert.match(messages[0], /must be a NATS subject to publish on: dot-separated tokens, no empty tokens, no whitespace or control characters, no wildcards \(\* or >\)/);
  }
});

test('config keys: cfg:<scope>:<id>, a known scope, a non-empty id without whitespace', () => {
  for (const key of ['cfg:system:default', 'cfg:team:eu:west', 'cfg:workflow:{x}']) assert.equal(configKeyProblem(key), undefined, key);
  assert.match(configKeyProblem('bogus') ?? '', /"bogus" is not a config key: expected cfg:<scope>:<id>/);
  assert.match(configKeyProblem('cfg:planet:x') ?? '', /unknown scope "planet"/);
  assert.match(configKeyProblem('cfg:team:') ?? '', /empty id/);
  assert.match(configKeyProblem('cfg:team:a\nb') ?? '', /whitespace or a control character/);
});

const LIVE: LiveRevision = {
  data: { pools: { topics: { 'job.a': 'p' } }, timeouts: { reconciler: { scan_interval_seconds: 30 } }, scheduler: { x: 1 } },
  revision: 3,
  updatedAt: '2026-11-27T21:40:05Z',
  meta: { published_by: 'alice@ops' },
};
const SECTIONS = ['pools', 'timeouts'] as const;

test('decidePublish: the base revision, a conflict said before asking, nothing to publish', () => {
  const data: DataMap = { ...LIVE.data, scheduler: { x: 2 } };
  // Default base: the file's revision, else the live one.
  const fromLive = decidePublish('cfg:system:default', { kind: 'document', data }, LIVE, { sections: SECTIONS });
  assert.equal(fromLive.action, 'publish');
  assert.equal(fromLive.action === 'publish' && fromLive.plan.newRevision, 4);
  const stale = decidePublish('cfg:system:default', { kind: 'document', data, fileRevision: 2 }, LIVE, { sections: SECTIONS });
  assert.deepEqual(stale, {
    action: 'conflict',
    liveRevision: 3,
    basedOn: 2,
    message: 'cfg:system:default is at revision 3 (published at 2026-11-27T21:40:05Z by alice@ops), this publish was based on revision 2. Nothing was written.',
  });
  // Issue 9 item 13: an envelope file at revision 7, no live document.
  const missing = decidePublish('cfg:system:default', { kind: 'document', data, fileRevision: 7 }, undefined, { sections: SECTIONS });
  assert.deepEqual(missing, {
    action: 'conflict',
    liveRevision: 0,
    basedOn: 7,
    message: 'cfg:system:default does not exist in Redis (deleted, or never published to this key and database), this publish was based on revision 7. Nothing was written.',
  });
  const created = decidePublish('cfg:system:default', { kind: 'document', data, fileRevision: 7 }, undefined, { sections: SECTIONS, expectRevision: 0 });
  assert.equal(created.action === 'publish' && created.plan.newRevision, 1);
  const same = decidePublish('cfg:system:default', { kind: 'document', data: LIVE.data, fileRevision: 3 }, LIVE, { sections: SECTIONS });
  assert.deepEqual(same.action === 'unchanged' && same.message, 'nothing to publish: cfg:system:default revision 3 already holds this data');
});

test('decidePublish: a section file replaces that one section of the live document, on the live revision', () => {
  const pools = { topics: { 'job.a': 'q' } };
  const decision = decidePublish('cfg:system:default', { kind: 'section', section: 'pools', value: pools }, LIVE, { sections: SECTIONS });
  assert.equal(decision.action, 'publish');
  if (decision.action !== 'publish') return;
  assert.deepEqual(decision.data, { ...LIVE.data, pools });
  assert.deepEqual(Object.keys(decision.data), ['pools', 'timeouts', 'scheduler']);
  assert.equal(decision.plan.expectedRevision, 3);
  assert.deepEqual(decision.plan.sections.map((s) => [s.name, s.kind]), [['pools', 'changed'], ['timeouts', 'unchanged']]);
  assert.deepEqual(decision.plan.otherChanges, []);
  assert.deepEqual(decidePublish('cfg:system:default', { kind: 'section', section: 'pools', value: pools }, undefined, { sections: SECTIONS }), {
    action: 'no-live-document',
    message: 'cfg:system:default does not exist in Redis: a pools section alone is not a document. Publish a whole config document to cfg:system:default first, then its sections.',
  });
  const unchanged = decidePublish('cfg:system:default', { kind: 'section', section: 'timeouts', value: LIVE.data.timeouts }, LIVE, { sections: SECTIONS });
  assert.equal(unchanged.action === 'unchanged' && unchanged.message, 'nothing to publish: cfg:system:default revision 3 already holds this timeouts section');
});

test('withSection keeps a live "__proto__" key as data and adds a missing section at the end', () => {
  const live = JSON.parse('{"__proto__":{"x":1},"timeouts":{}}') as DataMap;
  const out = withSection(live, 'pools', { topics: { a: 'b' } });
  assert.deepEqual(Object.keys(out), ['__proto__', 'timeouts', 'pools']);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
});
