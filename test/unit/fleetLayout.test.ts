import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeDriftModel, type LiveSnapshot, type ReplicaObservation } from '../../src/core/convergence';
import { FleetLayout, groupKey, stateCounts } from '../../src/core/fleetLayout';

// What the Replicas view redraws at 1,000 replicas: the rows that changed, never the whole tree.
const OLD = 'a'.repeat(64);
const NEW = 'b'.repeat(64);
const T0 = 1_000_000;
const live: LiveSnapshot = { key: 'cfg:system:default', revision: 2, publishedAtMs: T0, sections: { pools: NEW }, knownHashes: new Map([[OLD, 1], [NEW, 2]]) };
const policy = { notificationOk: { inclusive: true, ms: 5_000 }, notificationLost: { inclusive: true, ms: 30_000 } };

function fleet(n: number, drifted: Set<number>, reportedAtMs: number) {
  const reports = Array.from({ length: n }, (_, i) => {
    const id = `sim-${String(i + 1).padStart(4, '0')}`;
    const hash = drifted.has(i) ? OLD : NEW;
    const report: ReplicaObservation = { service: 'scheduler', replicaId: id, revision: 2, reportedAtMs, pollIntervalMs: 30_000, lastCheckTrigger: 'poll', sections: { pools: { hash, appliedAtMs: T0 + 100, trigger: 'poll', revision: 2 } }, lastError: null };
    return { member: `scheduler:${id}`, report };
  });
  return computeDriftModel({ live, replicas: reports, policy, nowMs: T0 + 60_000, staleAfterMs: 15_000 });
}

test('1,000 replicas: problems first in their own group, the counts worst first', () => {
  const layout = new FleetLayout();
  const model = fleet(1000, new Set([10, 500, 990]), T0 + 59_000);
  const change = layout.update(model, 'root', T0 + 60_000);
  assert.equal(change.whole, true, 'the first layout draws everything');
  const [service] = layout.services;
  assert.deepEqual(service.groups?.map((g) => [g.state, g.replicas.length]), [['drifted', 3], ['in-sync', 997]]);
  assert.deepEqual(service.groups?.[0].replicas.map((r) => r.replicaId), ['sim-0011', 'sim-0501', 'sim-0991']);
  assert.equal(stateCounts(model), '3 drifted · 997 in sync');
});

test('a report that changes nothing visible redraws nothing; one replica changing state redraws its old and new group', () => {
  const layout = new FleetLayout();
  layout.update(fleet(1000, new Set([10, 500, 990]), T0 + 59_000), 'root', T0 + 60_000);
  // Every replica reported again a second later, nothing else changed: in-sync rows show no age.
  const again = layout.update(fleet(1000, new Set([10, 500, 990]), T0 + 59_500), 'root', T0 + 60_000);
  assert.deepEqual(again, { whole: false, services: [], groups: [], replicas: [] });
  // sim-0200 drifts: the two groups it leaves and joins redraw (their counts and rows); the service
  // row, which counts only its size when grouped, and its other groups do not.
  const drift = layout.update(fleet(1000, new Set([10, 199, 500, 990]), T0 + 59_500), 'root', T0 + 60_000);
  assert.deepEqual(drift, { whole: false, services: [], groups: ['scheduler\u0000drifted', 'scheduler\u0000in-sync'], replicas: [] });
  assert.deepEqual(layout.services[0].groups?.[0].replicas.map((r) => r.replicaId), ['sim-0011', 'sim-0200', 'sim-0501', 'sim-0991']);
});

test('a problem row ages in steps; a filter shows one state only and redraws everything once', () => {
  const layout = new FleetLayout();
  layout.update(fleet(1000, new Set([10, 500, 990]), T0 + 59_000), 'root', T0 + 60_000);
  const aged = layout.update(fleet(1000, new Set([10, 500, 990]), T0 + 59_000), 'root', T0 + 66_000);
  assert.deepEqual(aged.replicas, ['scheduler:sim-0011', 'scheduler:sim-0501', 'scheduler:sim-0991'], 'only the drifted rows say "7s ago"');
  const filtered = layout.update(fleet(1000, new Set([10, 500, 990]), T0 + 59_000), 'root', T0 + 66_000, { filter: 'drifted' });
  assert.equal(filtered.whole, true);
  assert.deepEqual(layout.services[0].replicas.map((r) => r.replicaId), ['sim-0011', 'sim-0501', 'sim-0991']);
  assert.deepEqual(layout.services[0].groups?.map((g) => g.state), ['drifted']);
  assert.equal(layout.services[0].all.length, 1000);
  assert.ok(groupKey('scheduler', 'drifted').startsWith('scheduler'));
  // Clearing the filter (undefined) is a change too, not "keep the current one".
  assert.equal(layout.update(fleet(1000, new Set([10, 500, 990]), T0 + 59_000), 'root', T0 + 66_000, { filter: undefined }).whole, true);
  assert.equal(layout.services[0].replicas.length, 1000);
});

test('a small service stays a flat list, worst first; a state change that keeps the order redraws one row', () => {
  const layout = new FleetLayout();
  layout.update(fleet(5, new Set([4]), T0 + 59_000), 'root', T0 + 60_000);
  assert.equal(layout.services[0].groups, undefined);
  assert.deepEqual(layout.services[0].replicas.map((r) => r.replicaId), ['sim-0005', 'sim-0001', 'sim-0002', 'sim-0003', 'sim-0004']);
  const change = layout.update(fleet(5, new Set([4]), T0 + 59_000), 'root', T0 + 66_000);
  assert.deepEqual(change, { whole: false, services: [], groups: [], replicas: ['scheduler:sim-0005'] });
});

test('a row with the very same section views still redraws when its registry version or its last error changes', () => {
  const layout = new FleetLayout();
  const model = fleet(30, new Set([3]), T0 + 59_000);
  const registered = (version: string) => ({ ...model, replicas: model.replicas.map((r) => (r.replicaId === 'sim-0010' ? { ...r, registry: { key: 'cordum:instance:scheduler:sim-0010', id: 'sim-0010', service: 'scheduler', version, commit: 'abc' } } : r)) });
  layout.update(registered('v1'), 'root', T0 + 60_000);
  assert.deepEqual(layout.update(registered('v1'), 'root', T0 + 60_000).replicas, [], 'the same model again: nothing');
  assert.deepEqual(layout.update(registered('v2'), 'root', T0 + 60_000).replicas, ['scheduler:sim-0010'], 'v1 -> v2 is in the row');
  const failed = { ...model, replicas: model.replicas.map((r) => (r.replicaId === 'sim-0004' ? { ...r, lastError: { atMs: T0 + 59_000, message: 'boom', kind: 'apply-failed' as const } } : r)) };
  layout.update(registered('v2'), 'root', T0 + 60_000);
  assert.ok(layout.update({ ...failed, replicas: failed.replicas.map((r) => (r.replicaId === 'sim-0010' ? registered('v2').replicas.find((x) => x.replicaId === 'sim-0010')! : r)) }, 'root', T0 + 60_000).replicas.includes('scheduler:sim-0004'));
});
