import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { computeDriftModel, type LiveSnapshot, type ReplicaObservation } from '../../src/core/convergence';
import { formatAge } from '../../src/core/duration';

const OK = { inclusive: true, ms: 5_000 };
const LOST = { inclusive: true, ms: 30_000 };
const policy = { notificationOk: OK, notificationLost: LOST };
const OLD = 'a'.repeat(64);
const NEW = 'b'.repeat(64);
const ROGUE = 'c'.repeat(64);
const T0 = 1_000_000; // the publish of revision 2

const live: LiveSnapshot = { key: 'cfg:system:default', revision: 2, publishedAtMs: T0, sections: { pools: NEW }, knownHashes: new Map([[OLD, 1], [NEW, 2]]) };

function report(id: string, pools: { hash: string; at: number; trigger: 'notification' | 'poll' | 'startup' } | undefined, extra: Partial<ReplicaObservation> = {}, reportedAtMs = T0): { member: string; report: ReplicaObservation } {
  return {
    member: `scheduler:${id}`,
    report: {
      service: 'scheduler',
      replicaId: id,
      revision: 2,
      reportedAtMs,
      pollIntervalMs: 30_000,
      lastCheckTrigger: pools?.trigger ?? null,
      sections: pools ? { pools: { hash: pools.hash, appliedAtMs: pools.at, trigger: pools.trigger, revision: 2 } } : {},
      lastError: null,
      ...extra,
    },
  };
}

function stateAt(nowMs: number, replica: ReturnType<typeof report>) {
  return computeDriftModel({ live, replicas: [replica], policy, nowMs, staleAfterMs: 15_000 }).replicas[0];
}

test('a replica on the old hash converges inside the budget, drifts past it', () => {
  const r = report('a', { hash: OLD, at: T0 - 60_000, trigger: 'startup' }, {}, T0 + 1000);
  assert.equal(stateAt(T0 + 1_000, r).state, 'converging');
  assert.equal(stateAt(T0 + 30_000, { ...r, report: { ...r.report, reportedAtMs: T0 + 29_000 } }).state, 'converging');
  const late = stateAt(T0 + 30_001, { ...r, report: { ...r.report, reportedAtMs: T0 + 29_000 } });
  assert.equal(late.state, 'drifted');
  assert.match(late.sections[0].why, /still on revision 1 30s after the publish, past the 30s budget/);
});

test('in sync by notification is measured against notification_ok; by poll against notification_lost, and says the notification was lost', () => {
  const fast = stateAt(T0 + 2_000, report('a', { hash: NEW, at: T0 + 120, trigger: 'notification' }, {}, T0 + 2_000));
  assert.equal(fast.state, 'in-sync');
  assert.equal(fast.sections[0].convergenceMs, 120);
  assert.deepEqual(fast.sections[0].budget, { name: 'notification_ok', bound: OK });
  assert.equal(fast.sections[0].withinBudget, true);
  const slowNotification = stateAt(T0 + 9_000, report('b', { hash: NEW, at: T0 + 6_000, trigger: 'notification' }, {}, T0 + 9_000));
  assert.equal(slowNotification.sections[0].withinBudget, false, 'over the 5s notification budget');
  const byPoll = stateAt(T0 + 30_000, report('c', { hash: NEW, at: T0 + 21_000, trigger: 'poll' }, {}, T0 + 29_000));
  assert.equal(byPoll.state, 'in-sync');
  assert.equal(byPoll.sections[0].withinBudget, true);
  assert.match(byPoll.sections[0].why, /converged in 21s by poll: the notification was lost/);
});

test('a section the publish did not change stays in sync without a convergence time', () => {
  const r = stateAt(T0 + 500, report('a', { hash: NEW, at: T0 - 5_000, trigger: 'notification' }, {}, T0 + 500));
  assert.equal(r.state, 'in-sync');
  assert.equal(r.sections[0].convergenceMs, undefined);
});

test('no heartbeat within the stale window is stale; no report at all is stale too', () => {
  assert.equal(stateAt(T0 + 20_000, report('a', { hash: NEW, at: T0 + 100, trigger: 'notification' }, {}, T0 + 4_000)).state, 'stale');
  const none = computeDriftModel({ live, replicas: [{ member: 'scheduler:x', lastSeenMs: T0 - 1000 }], policy, nowMs: T0, staleAfterMs: 15_000 }).replicas[0];
  assert.equal(none.state, 'stale');
  assert.match(none.sections[0].why, /no report for 1s/);
});

test('a replica that reported an apply failure for the live hash is rejected; one that never applied is not checked', () => {
  const rejected = stateAt(T0 + 1_000, report('a', { hash: OLD, at: T0 - 9_000, trigger: 'startup' }, { lastError: { atMs: T0 + 900, message: 'pool gpu missing', kind: 'apply-failed', section: 'pools', hash: NEW } }, T0 + 1_000));
  assert.equal(rejected.state, 'rejected');
  assert.match(rejected.sections[0].why, /pool gpu missing/);
  assert.equal(stateAt(T0 + 1_000, report('b', undefined, {}, T0 + 1_000)).state, 'not-checked');
});

test('a hash that is neither live nor in the history is of unknown origin', () => {
  assert.equal(stateAt(T0 + 1_000, report('a', { hash: ROGUE, at: T0 - 100, trigger: 'poll' }, {}, T0 + 1_000)).state, 'unknown-origin');
});

test('the summary counts replicas by their worst section, in sync first', () => {
  const model = computeDriftModel({
    live,
    replicas: [
      report('a', { hash: NEW, at: T0 + 50, trigger: 'notification' }, {}, T0 + 40_000),
      report('b', { hash: NEW, at: T0 + 60, trigger: 'notification' }, {}, T0 + 40_000),
      report('c', { hash: OLD, at: T0 - 60, trigger: 'startup' }, {}, T0 + 40_000),
    ],
    policy,
    nowMs: T0 + 40_000,
    staleAfterMs: 15_000,
  });
  assert.equal(model.summary, '2/3 in sync, 1 drifted');
  assert.equal(model.breaches, 1);
  assert.equal(model.replicas[0].replicaId, 'c', 'problems sort first');
});

test('a replica whose report does not decode is listed as stale, with the reason', () => {
  const model = computeDriftModel({ live, replicas: [{ member: 'scheduler:future', unreadable: 'unsupported version "v": 2' }], policy, nowMs: T0, staleAfterMs: 15_000 });
  assert.equal(model.replicas[0].state, 'stale');
  assert.match(model.replicas[0].sections[0].why, /its report does not decode: unsupported version "v": 2/);
});

test('a publish or a report dated ahead of our clock is clock skew, never a negative age', () => {
  assert.equal(formatAge(4_000), '4s ago');
  assert.equal(formatAge(-300), '0ms ago', 'jitter below a second is now');
  assert.equal(formatAge(-159_844), '2m40s in the future (clock skew?)');
  // Our clock is 160 s behind the publisher's: the replica on the old hash is converging, and says why honestly.
  const behind = stateAt(T0 - 160_000, report('a', { hash: OLD, at: T0 - 200_000, trigger: 'startup' }, {}, T0 - 160_000));
  assert.equal(behind.state, 'converging');
  assert.equal(behind.sections[0].why, 'not yet on the live hash, the publish is dated 2m40s in the future (clock skew?) (budget 30s)');
  const expired = computeDriftModel({ live, replicas: [{ member: 'scheduler:gone', lastSeenMs: T0 + 160_000 }], policy, nowMs: T0, staleAfterMs: 15_000 }).replicas[0];
  assert.equal(expired.sections[0].why, 'its report expired; the last one was dated 2m40s in the future (clock skew?)');
  for (const s of [...behind.sections, ...expired.sections]) assert.doesNotMatch(s.why, /-\d/);
});

test('simulated replicas are marked in the model and counted; real ones are not', () => {
  const model = computeDriftModel({
    live,
    replicas: [report('sim', { hash: NEW, at: T0 + 100, trigger: 'notification' }, { simulated: true }, T0 + 200), report('real', { hash: NEW, at: T0 + 100, trigger: 'notification' }, {}, T0 + 200)],
    policy,
    nowMs: T0 + 300,
    staleAfterMs: 15_000,
  });
  assert.equal(model.simulated, 1);
  assert.equal(model.replicas.find((r) => r.replicaId === 'sim')?.simulated, true);
  assert.equal(model.replicas.find((r) => r.replicaId === 'real')?.simulated, undefined);
  assert.equal(model.summary, '2/2 in sync', 'the summary counts states; the marker is shown beside it');
});

test('the same report object, asked again later: a converging replica still drifts on time, and a new live revision is judged afresh', () => {
  // The watcher hands the model the same report object until the replica reports again.
  const r = report('a', { hash: OLD, at: T0 - 60_000, trigger: 'startup' }, {}, T0 + 1000);
  assert.equal(stateAt(T0 + 1_000, r).state, 'converging');
  assert.equal(stateAt(T0 + 12_000, r).state, 'converging');
  // (stale after 15 s without a report: the same object, reported 14 s after the budget's start)
  const late = report('b', { hash: OLD, at: T0 - 60_000, trigger: 'startup' }, {}, T0 + 20_000);
  assert.equal(stateAt(T0 + 20_000, late).state, 'converging');
  assert.equal(stateAt(T0 + 31_000, late).state, 'drifted');
  // In sync on revision 2; revision 3 publishes another hash: the same report is now behind.
  const synced = report('c', { hash: NEW, at: T0 + 500, trigger: 'notification' }, {}, T0 + 1000);
  assert.equal(stateAt(T0 + 2_000, synced).state, 'in-sync');
  const next: LiveSnapshot = { ...live, revision: 3, publishedAtMs: T0 + 1_500, sections: { pools: ROGUE }, knownHashes: new Map([[OLD, 1], [NEW, 2], [ROGUE, 3]]) };
  assert.equal(computeDriftModel({ live: next, replicas: [synced], policy, nowMs: T0 + 2_000, staleAfterMs: 15_000 }).replicas[0].state, 'converging');
  assert.equal(stateAt(T0 + 3_000, synced).sections[0].why, 'converged in 500ms by notification');
});

test('a new report with the same sections but another last error is judged afresh (views are kept by sections and error)', () => {
  // The watcher passes the previous report's sections object while they are unchanged.
  const rejected = report('a', { hash: NEW, at: T0 + 500, trigger: 'notification' }, { lastError: { atMs: T0 + 600, message: 'apply refused', kind: 'apply-failed', section: 'pools', hash: NEW } }, T0 + 1000);
  assert.equal(stateAt(T0 + 2_000, rejected).state, 'rejected');
  const cleared = { member: rejected.member, report: { ...rejected.report, lastError: null, reportedAtMs: T0 + 2_000 } };
  assert.equal(cleared.report.sections, rejected.report.sections);
  assert.equal(stateAt(T0 + 2_500, cleared).state, 'in-sync');
  const again = { member: rejected.member, report: { ...cleared.report, lastError: rejected.report.lastError, reportedAtMs: T0 + 3_000 } };
  assert.equal(stateAt(T0 + 3_500, again).state, 'rejected');
});

test('replicas are listed problems first, then by name in collation order, as the set of replicas changes between models', () => {
  // Names that code-unit order and collation order sort differently: case, digits, punctuation.
  const name = fc.stringMatching(/^[a-cA-C0-9_.-]{1,4}$/);
  const states = fc.constantFrom('in-sync', 'drifted', 'stale', 'not-checked');
  const collator = new Intl.Collator();
  const severity = ['rejected', 'drifted', 'unknown-origin', 'stale', 'not-reporting', 'converging', 'not-checked', 'in-sync'];
  const NOW = T0 + 40_000;
  const replicaIn = (id: string, state: string) =>
    state === 'in-sync'
      ? report(id, { hash: NEW, at: T0 + 50, trigger: 'notification' }, {}, NOW)
      : state === 'drifted'
        ? report(id, { hash: OLD, at: T0 - 60, trigger: 'startup' }, {}, NOW)
        : state === 'stale'
          ? report(id, { hash: NEW, at: T0 + 50, trigger: 'notification' }, {}, NOW - 20_000)
          : report(id, undefined, {}, NOW);
  fc.assert(
    fc.property(fc.array(fc.uniqueArray(fc.tuple(name, states), { selector: ([n]) => n, maxLength: 12 }), { minLength: 1, maxLength: 4 }), (models) => {
      for (const members of models) {
        const model = computeDriftModel({ live, replicas: members.map(([id, state]) => replicaIn(id, state)), policy, nowMs: NOW, staleAfterMs: 15_000 });
        const expected = [...model.replicas].sort((a, b) => severity.indexOf(a.state) - severity.indexOf(b.state) || collator.compare(a.member, b.member));
        assert.deepEqual(model.replicas.map((r) => `${r.state} ${r.member}`), expected.map((r) => `${r.state} ${r.member}`));
      }
    }),
    { numRuns: 500 },
  );
});
