import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { JsonValue } from '../../src/core/canonical';
import { changeSet, changeSetJson, formatChangeSetMarkdown, formatChangeSetText, formatPath, unacceptedRisks, type Change } from '../../src/core/changeSet';

type DataMap = { [key: string]: JsonValue };
const RUNS = Number(process.env.FC_RUNS ?? 200);

const base = (): DataMap => ({
  pools: {
    topics: { 'job.default': 'default', 'job.fraud': ['fraud', 'default'], 'job.a': 'default', 'job.b': 'default' },
    pools: { default: { requires: [] }, fraud: { requires: ['gpu'], status: 'active' } },
  },
  timeouts: {
    workflows: { wf: { child_timeout_seconds: 60, total_timeout_seconds: 600, max_retries: 1 } },
    topics: { 'job.fraud': { timeout_seconds: 120, max_retries: 2 } },
    reconciler: { dispatch_timeout_seconds: 300, running_timeout_seconds: 900, scan_interval_seconds: 30 },
  },
  scheduler: { output_policy_enabled: true },
});

function edit(fn: (d: any) => void): DataMap {
  const d = base();
  fn(d);
  return d;
}

const codes = (live: DataMap | undefined, local: DataMap) => changeSet(live, local).risks.map((r) => `${r.code} ${r.path}`);
const paths = (changes: Change[]) => changes.map((c) => `${c.kind} ${c.path}`);

test('identical data, reordered keys, capitalised fallbacks and ignored keys give no change at all', () => {
  assert.deepEqual(changeSet(base(), base()), { changes: [], risks: [] });
  const reordered = edit((d) => {
    d.pools = { pools: d.pools.pools, topics: Object.fromEntries(Object.entries(d.pools.topics).reverse()) };
  });
  assert.deepEqual(changeSet(base(), reordered).changes, []);
  // What replicas apply: `Topics` is renamed to `topics`, CamelCase timeout names too, `_note` dropped.
  const capitalised = edit((d) => {
    d.pools = { Topics: d.pools.topics, Pools: d.pools.pools, _note: 'ignored by replicas' };
    d.timeouts = { ...d.timeouts, Reconciler: { DispatchTimeoutSeconds: 300, RunningTimeoutSeconds: 900, ScanIntervalSeconds: 30 }, description: 'dropped' };
    delete d.timeouts.reconciler;
  });
  assert.deepEqual(changeSet(base(), capitalised), { changes: [], risks: [] });
});

test('routing: added, removed, rerouted and reordered topics; "p" vs ["p"] is noted as hash-only', () => {
  const local = edit((d) => {
    d.pools.topics['job.default'] = ['default'];
    d.pools.topics['job.fraud'] = ['default', 'fraud'];
    d.pools.topics['job.a'] = 'fraud';
    delete d.pools.topics['job.b'];
    d.pools.topics['job.new'] = 'default';
  });
  const set = changeSet(base(), local);
  assert.deepEqual(paths(set.changes), ['changed pools.topics["job.a"]', 'removed pools.topics["job.b"]', 'changed pools.topics["job.default"]', 'changed pools.topics["job.fraud"]', 'added pools.topics["job.new"]']);
  const byPath = new Map(set.changes.map((c) => [c.path, c]));
  assert.equal(byPath.get('pools.topics["job.default"]')?.hashOnly, true);
  assert.match(byPath.get('pools.topics["job.default"]')!.note!, /"p" vs \["p"\]/);
  // A reorder changes which pool takes the jobs first: routing, not hash-only (issue 13).
  assert.equal(byPath.get('pools.topics["job.fraud"]')?.hashOnly, undefined);
  assert.match(byPath.get('pools.topics["job.fraud"]')!.note!, /another order/);
  assert.deepEqual(byPath.get('pools.topics["job.a"]'), { section: 'pools', path: 'pools.topics["job.a"]', kind: 'changed', from: 'default', to: 'fraud' });
  // Four of five topics rerouted (a, b, fraud reordered, new): more than a quarter.
  assert.deepEqual(set.risks.map((r) => r.code), ['many-topics']);
  assert.match(set.risks[0].message, /reroutes 4 of 5 topics/);
});

test('pools: status, requires and drain fields changed property by property; timeouts old -> new', () => {
  const local = edit((d) => {
    d.pools.pools.fraud = { requires: ['gpu', 'fast'], status: 'draining', drain_started_at: '2026-11-30T12:00:00Z', drain_timeout_seconds: 600 };
    d.pools.pools.spare = { requires: [] };
    d.timeouts.topics['job.fraud'].timeout_seconds = 100;
    d.timeouts.workflows.wf.total_timeout_seconds = 900;
    d.scheduler.output_policy_enabled = false;
    d.rate_limits = { per_topic: 10 };
  });
  const set = changeSet(base(), local);
  assert.deepEqual(paths(set.changes), [
    'added pools.pools.fraud.drain_started_at',
    'added pools.pools.fraud.drain_timeout_seconds',
    'changed pools.pools.fraud.requires',
    'changed pools.pools.fraud.status',
    'added pools.pools.spare',
    'changed timeouts.topics["job.fraud"].timeout_seconds',
    'changed timeouts.workflows.wf.total_timeout_seconds',
    'added rate_limits',
    'changed scheduler.output_policy_enabled',
  ]);
  const status = set.changes.find((c) => c.path === 'pools.pools.fraud.status')!;
  assert.deepEqual([status.from, status.to], ['active', 'draining']);
  assert.deepEqual(set.changes.find((c) => c.path.endsWith('"].timeout_seconds'))!.to, 100);
  // "job.fraud" still has "default" (active): draining "fraud" leaves it somewhere to go.
  assert.deepEqual(set.risks, []);
});

test('topic-without-active-pool: every pool of a topic draining, inactive or undefined after the change', () => {
  const local = edit((d) => {
    d.pools.pools.fraud.status = 'draining';
    d.pools.pools.default.status = 'inactive';
  });
  assert.deepEqual(codes(base(), local), ['job.a', 'job.b', 'job.default', 'job.fraud'].map((t) => `topic-without-active-pool pools.topics["${t}"]`));
  const set = changeSet(base(), local);
  assert.match(set.risks.find((r) => r.path === 'pools.topics["job.fraud"]')!.message, /^Topic "job\.fraud" has nowhere to go after this change: "fraud" is draining, "default" is inactive\.$/);
  // Undefined pools count too; a topic that already had nowhere to go is not this change's doing.
  const undefinedPool = edit((d) => (d.pools.topics['job.new'] = 'ghost'));
  assert.deepEqual(codes(base(), undefinedPool), ['topic-without-active-pool pools.topics["job.new"]']);
  assert.deepEqual(codes(undefinedPool, edit((d) => ((d.pools.topics['job.new'] = 'ghost'), (d.scheduler.x = 1)))), []);
});

test('pool-removed-still-routed names the topics that still route to the removed pool', () => {
  const local = edit((d) => delete d.pools.pools.fraud);
  const set = changeSet(base(), local);
  // "job.fraud" still has "default": not without a pool, but half its routing points at nothing.
  assert.deepEqual(set.risks.map((r) => `${r.code} ${r.path}`), ['pool-removed-still-routed pools.pools.fraud']);
  assert.equal(set.risks[0].message, 'Pool "fraud" is removed but topic "job.fraud" still routes to it.');
  // Removed and no longer routed: no risk.
  assert.deepEqual(codes(base(), edit((d) => ((d.pools.topics['job.fraud'] = 'default'), delete d.pools.pools.fraud))), []);
});

test('timeout-cut, timeout-zero and scan-interval-change', () => {
  const local = edit((d) => {
    d.timeouts.topics['job.fraud'].timeout_seconds = 50; // 120 -> 50: more than half
    d.timeouts.workflows.wf.child_timeout_seconds = 30; // 60 -> 30: exactly half, not a cut
    d.timeouts.reconciler.running_timeout_seconds = 0;
    d.timeouts.reconciler.scan_interval_seconds = 5;
    d.timeouts.topics['job.new'] = { timeout_seconds: 0, max_retries: 0 };
  });
  assert.deepEqual(codes(base(), local), [
    'timeout-zero timeouts.reconciler.running_timeout_seconds',
    'timeout-zero timeouts.topics["job.new"].timeout_seconds',
    'timeout-cut timeouts.topics["job.fraud"].timeout_seconds',
    'scan-interval-change timeouts.reconciler.scan_interval_seconds',
  ]);
  const messages = changeSet(base(), local).risks.map((r) => r.message);
  assert.ok(messages.includes('timeouts.topics["job.fraud"].timeout_seconds is cut by more than half, from 120 s to 50 s: work that ran within the old timeout may now be cut off.'));
  assert.ok(messages.includes("The reconciler's scan interval changes from 30 s to 5 s: every replica scans for stale jobs at the new pace."));
  // Removed, replicas scan at the scheduler's default pace; set where it was absent, likewise.
  const removed = changeSet(base(), edit((d) => delete d.timeouts.reconciler.scan_interval_seconds)).risks;
  assert.deepEqual(removed.map((r) => `${r.code} ${r.message}`), ["scan-interval-change The reconciler's scan interval changes from 30 s to the scheduler's default: every replica scans for stale jobs at the new pace."]);
  const unset = edit((d) => delete d.timeouts.reconciler.scan_interval_seconds);
  assert.deepEqual(changeSet(unset, base()).risks.map((r) => r.message), ["The reconciler's scan interval changes from the scheduler's default to 30 s: every replica scans for stale jobs at the new pace."]);
  // A whole reconciler block removed, or added where there was none: the same change of pace.
  const noReconciler = edit((d) => delete d.timeouts.reconciler);
  assert.deepEqual(codes(base(), noReconciler), ['scan-interval-change timeouts.reconciler.scan_interval_seconds']);
  assert.deepEqual(codes(noReconciler, base()), ['scan-interval-change timeouts.reconciler.scan_interval_seconds']);
  // max_retries is not a timeout: 2 -> 0 is a change, not a risk.
  assert.deepEqual(codes(base(), edit((d) => (d.timeouts.topics['job.fraud'].max_retries = 0))), []);
});

test('unapplied-section: a new section that fails validation; an absent section is noted, not applied', () => {
  const invalid = edit((d) => (d.timeouts.reconciler.scan_interval_seconds = -1));
  const set = changeSet(base(), invalid);
  assert.deepEqual(set.risks.map((r) => r.code), ['unapplied-section', 'scan-interval-change']);
  assert.match(set.risks[0].message, /^The new timeouts section fails validation \(\/reconciler\/scan_interval_seconds must be >= 0\), so replicas will not apply it and keep the one they run\.$/);
  const removed = changeSet(base(), edit((d) => delete d.timeouts));
  assert.deepEqual(paths(removed.changes), ['removed timeouts']);
  assert.match(removed.changes[0].note!, /replicas keep the timeouts they last applied/);
  // No live document: everything is added; nothing to compare risks against but the new data.
  assert.deepEqual(paths(changeSet(undefined, base()).changes), ['added pools', 'added timeouts', 'added scheduler']);
});

test('many-topics: more than a quarter of the topics, however few', () => {
  const two: DataMap = { pools: { topics: { a: 'default', b: 'default' } } };
  assert.deepEqual(codes(two, { pools: { topics: { a: 'other', b: 'default' } } }), ['many-topics pools.topics']); // 1 of 2: half the traffic
  assert.deepEqual(codes(base(), edit((d) => (d.pools.topics['job.a'] = 'fraud'))), []); // 1 of 4: exactly a quarter is not more
  assert.deepEqual(codes(base(), edit((d) => ((d.pools.topics['job.a'] = 'fraud'), (d.pools.topics['job.b'] = 'fraud')))), ['many-topics pools.topics']); // 2 of 4
});

test('formats: text lists risks then changes; markdown is a PR comment; JSON has the documented shape', () => {
  const local = edit((d) => {
    d.pools.topics['job.default'] = ['default'];
    d.timeouts.reconciler.scan_interval_seconds = 10;
  });
  const set = changeSet(base(), local);
  assert.deepEqual(formatChangeSetText(set), [
    'risks (1):',
    "  scan-interval-change       The reconciler's scan interval changes from 30 s to 10 s: every replica scans for stale jobs at the new pace.",
    'changes (2):',
    '  ~ pools.topics["job.default"]: "default" -> ["default"] (same pools, written another way ("p" vs ["p"]): the hash changes, routing does not)',
    '  ~ timeouts.reconciler.scan_interval_seconds: 30 -> 10',
  ]);
  const md = formatChangeSetMarkdown(set, 'cfg:system:default r3 → config.yaml');
  assert.match(md, /^### cfg:system:default r3 → config.yaml\n\n2 changes \(1 hash-only\), 1 risk\.\n/);
  assert.match(md, /\n- ⚠️ \*\*scan-interval-change\*\*: The reconciler's scan interval changes from 30 s to 10 s/);
  assert.match(md, /\n\| changed \| `pools\.topics\["job\.default"\]` \| `"default"` \| `\["default"\]` \| same pools/);
  assert.deepEqual(JSON.parse(JSON.stringify(changeSetJson(set))), {
    changes: [
      { section: 'pools', path: 'pools.topics["job.default"]', kind: 'changed', from: 'default', to: ['default'], hash_only: true, note: set.changes[0].note },
      { section: 'timeouts', path: 'timeouts.reconciler.scan_interval_seconds', kind: 'changed', from: 30, to: 10 },
    ],
    risks: [{ code: 'scan-interval-change', path: 'timeouts.reconciler.scan_interval_seconds', message: set.risks[0].message }],
  });
  assert.deepEqual(unacceptedRisks(set, ['timeout-cut']), ['scan-interval-change']);
  assert.deepEqual(unacceptedRisks(set, ['scan-interval-change']), []);
});

test('paths quote names that are not plain words, and text from the network is shown escaped', () => {
  assert.equal(formatPath(['pools', 'topics', 'job.a', 0]), 'pools.topics["job.a"][0]');
  assert.equal(formatPath(['weird key']), '"weird key"');
  const set = changeSet({ note: 'a' }, { note: 'b\u001b[2J' });
  assert.equal(formatChangeSetText(set)[1], '  ~ note: "a" -> "b\\u001b[2J"');
});

// --- properties -------------------------------------------------------------------------------

const name = fc.stringMatching(/^[a-z][a-z0-9._-]{0,8}$/);
const seconds = fc.integer({ min: 0, max: 5000 });
const dataArb: fc.Arbitrary<DataMap> = fc.record(
  {
    pools: fc.record({
      topics: fc.dictionary(name, fc.oneof(name, fc.array(name, { minLength: 1, maxLength: 3 })), { minKeys: 1, maxKeys: 6 }),
      pools: fc.dictionary(name, fc.record({ requires: fc.array(name, { maxLength: 2 }), status: fc.constantFrom('active', 'draining', 'inactive') }, { requiredKeys: [] }), { maxKeys: 4 }),
    }),
    timeouts: fc.record({
      topics: fc.dictionary(name, fc.record({ timeout_seconds: seconds, max_retries: fc.integer({ min: 0, max: 5 }) }), { maxKeys: 3 }),
      reconciler: fc.record({ dispatch_timeout_seconds: seconds, running_timeout_seconds: seconds, scan_interval_seconds: seconds }),
    }),
    scheduler: fc.record({ output_policy_enabled: fc.boolean() }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<DataMap>;

/** A deep copy with every object's keys in reverse order. */
function reversed(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(reversed);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).reverse().map((k) => [k, reversed(value[k])]));
}

test('property: a document compared with itself (or a key-reordered copy) has no change and no risk', () => {
  fc.assert(
    fc.property(dataArb, (data) => {
      const copy = reversed(data) as DataMap;
      assert.deepEqual(changeSet(data, copy), { changes: [], risks: [] });
    }),
    { numRuns: RUNS },
  );
});

test('property: changeSet(a, b) mirrors changeSet(b, a): same paths, added <-> removed, from <-> to', () => {
  const mirror = (c: Change) => ({ ...c, kind: c.kind === 'added' ? 'removed' : c.kind === 'removed' ? 'added' : 'changed', from: c.to, to: c.from });
  const strip = (c: Change) => JSON.parse(JSON.stringify({ section: c.section, path: c.path, kind: c.kind, from: c.from, to: c.to, hashOnly: c.hashOnly }));
  fc.assert(
    fc.property(dataArb, dataArb, (a, b) => {
      const forward = changeSet(a, b).changes.map((c) => strip(mirror(c) as Change));
      const backward = changeSet(b, a).changes.map(strip);
      assert.deepEqual(forward, backward);
    }),
    { numRuns: RUNS },
  );
});
