import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { NatsConnection } from 'nats';
import { DEFAULT_POLICY } from '../../src/core/policy';
import type { DriftModel } from '../../src/core/convergence';
import { ConfigStore } from '../../src/live/configStore';
import { DriftWatcher, observationOf, onlyNewerTime, type DriftWatcherOptions } from '../../src/live/driftWatcher';
import { connectNats } from '../../src/live/natsConnection';
import { closeRedis, connectRedis } from '../../src/live/redisConnection';
import { decodeReplicaReport, encodeReplicaReport, isNewerReport, publishReplicaReport, type ReplicaReport } from '../../src/live/replicaReports';
import { WatchSupervisor } from '../../src/live/watchSupervisor';
import { startNats, startRedis, type ServerProcess } from '../support/servers';

/**
 * The drift watcher and its supervisor against real redis-server and nats-server: a reset during
 * the first read (made slow for real with CLIENT PAUSE) never leaves a model loading or a timer
 * running, pausing stops the reads, and a replayed older report never replaces a newer one.
 */

type Server = ServerProcess & { url: string };
let redisServer: Server;
let natsServer: Server;
/** The watcher's connections, as the extension would hold them. */
let redis: Redis;
let nats: NatsConnection;
/** Another client: writes documents, pauses the server. */
let control: Redis;
let keyCounter = 0;

before(async () => {
  [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
  [redis, control, nats] = await Promise.all([connectRedis({ url: redisServer.url }, { name: 'watcher' }), connectRedis({ url: redisServer.url }, { name: 'control' }), connectNats({ servers: [natsServer.url] })]);
});

after(async () => {
  await Promise.all([closeRedis(redis), closeRedis(control), nats.close()]);
  await Promise.all([redisServer.dispose(), natsServer.dispose()]);
});

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

async function freshKey(): Promise<string> {
  const key = `cfg:team:watch-${process.pid}-${++keyCounter}`;
  await new ConfigStore(control).write(key, { data: { pools: { topics: {}, pools: {} } }, expectedRevision: 0 });
  return key;
}

function options(key: string, extra: Partial<DriftWatcherOptions> = {}): Omit<DriftWatcherOptions, 'onModel'> & Partial<Pick<DriftWatcherOptions, 'onModel'>> {
  return { redis, nats, configKey: key, sections: ['pools', 'timeouts'], policy: DEFAULT_POLICY.slo, subject: `sys.config.changed.${key}`, statusSubject: `sys.config.status.${key}`, ...extra };
}

/** Makes every Redis read of the next `ms` wait, the way a slow server or a large index would. */
async function pauseRedis(ms: number): Promise<void> {
  await control.call('CLIENT', 'PAUSE', String(ms), 'ALL');
}

test('a watcher stopped while its first read is in flight owns no timer and no subscription afterwards', async () => {
  const key = await freshKey();
  const before = timeouts();
  const models: DriftModel[] = [];
  const watcher = new DriftWatcher({ ...options(key), onModel: (m) => models.push(m) });
  await pauseRedis(1000);
  const started = watcher.start();
  assert.equal(watcher.stats.refreshes, 1, 'the first read is in flight');
  watcher.stop(); // a reset: settings changed, the policy was edited, Reconnect
  const watching = await started;
  assert.equal(timeouts(), before, `no interval left running (active: ${process.getActiveResourcesInfo().join(', ')})`);
  assert.deepEqual(models, [], 'no model from a stopped watcher');
  assert.equal(watcher.activeTimers, 0);
  assert.equal(watching, false, 'start() says it did not start watching');
});

test('a reset during the first read: a fresh attempt brings a model, ensureStarted does not hang, and nothing leaks', async () => {
  const key = await freshKey();
  const before = timeouts();
  let opens = 0;
  let opened: () => void = () => undefined;
  const firstOpen = new Promise<void>((resolve) => (opened = resolve));
  const models: DriftModel[] = [];
  const supervisor = new WatchSupervisor({
    open: async () => {
      opens++;
      opened();
      return options(key);
    },
    onModel: (m) => models.push(m),
  });
  await pauseRedis(1500);
  const waiting = supervisor.ensureStarted();
  await firstOpen;
  await new Promise((resolve) => setImmediate(resolve)); // the first attempt's watcher now waits for its read
  assert.equal(supervisor.current?.stats.refreshes, 1, 'the first read is in flight');
  const firstWatcher = supervisor.current!;
  const restarted = supervisor.restart();
  assert.equal(firstWatcher.isStopped, true, 'the reset stops the old watcher at once');
  await Promise.all([waiting, restarted]);
  assert.equal(opens, 2, 'the reset made a fresh attempt');
  assert.equal(supervisor.phase, 'watching');
  assert.ok(models.length >= 1 && models.at(-1)!.live?.key === key, 'a model arrived after the reset');
  assert.equal(firstWatcher.activeTimers, 0, 'the old watcher owns no timer');
  assert.ok(supervisor.activeTimers >= 2, 'the new watcher polls');
  assert.equal(timeouts() - before, supervisor.activeTimers, `only the new watcher's timers run (active: ${process.getActiveResourcesInfo().join(', ')})`);
  supervisor.close();
  assert.equal(timeouts(), before, 'closed: no timer left');
});

test('a paused supervisor reads nothing; resuming reads afresh and brings a model', async () => {
  const key = await freshKey();
  const models: DriftModel[] = [];
  const supervisor = new WatchSupervisor({ open: async () => options(key, { pollMs: 50 }), onModel: (m) => models.push(m) });
  await supervisor.ensureStarted();
  assert.equal(supervisor.phase, 'watching');
  supervisor.setNeeded(false);
  assert.equal(supervisor.phase, 'paused');
  const reads = supervisor.reads;
  // Ten poll intervals of the running watcher: a watcher that kept polling would read about ten times.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(supervisor.reads, reads, 'no Redis read while paused');
  assert.equal(supervisor.activeTimers, 0);
  const seen = models.length;
  supervisor.setNeeded(true);
  await supervisor.ensureStarted();
  assert.equal(supervisor.phase, 'watching');
  assert.ok(supervisor.reads > reads, 'resuming reads Redis again');
  assert.ok(models.length > seen, 'and brings a fresh model');
  supervisor.close();
});

/** Models as a watcher emits them, and a wait for the first one that satisfies a condition (10 s at most). */
function modelWaiter() {
  let latest: DriftModel | undefined;
  const waiters = new Set<() => void>();
  return {
    onModel: (m: DriftModel) => {
      latest = m;
      for (const w of [...waiters]) w();
    },
    where: (what: string, ok: (m: DriftModel) => boolean) =>
      new Promise<DriftModel>((resolve, reject) => {
        const timer = setTimeout(() => (waiters.delete(check), reject(new Error(`timed out waiting for ${what}`))), 10_000);
        const check = () => {
          if (latest && ok(latest)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(latest);
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

function report(key: string, replicaId: string, at: Date, extra: Partial<ReplicaReport> = {}): ReplicaReport {
  return {
    v: 1,
    replicaId,
    service: 'scheduler',
    configKey: key,
    revision: 1,
    reason: 'heartbeat',
    reportedAt: at.toISOString(),
    startedAt: '2026-11-30T06:00:00.000Z',
    pollIntervalMs: 30_000,
    lastCheckAt: null,
    lastCheckTrigger: null,
    sections: {},
    lastError: null,
    ...extra,
  };
}

test('a report replayed by NATS after a newer one does not replace it (by seq, and by reported_at without seq)', async () => {
  const key = await freshKey();
  const statusSubject = `sys.config.status.${key}`;
  const models = modelWaiter();
  const watcher = new DriftWatcher({ ...options(key), onModel: models.onModel });
  await watcher.start();
  const modelWhere = models.where;
  const lastReport = (m: DriftModel, id: string) => m.replicas.find((r) => r.replicaId === id)?.lastReportMs;
  const now = Date.now();
  const newer = new Date(now);
  const older = new Date(now - 4000);
  // With seq: the older one even carries a later clock (the replica's clock stepped back): seq decides.
  nats.publish(statusSubject, encodeReplicaReport(report(key, 'with-seq', newer, { seq: 7, revision: 2 })));
  nats.publish(statusSubject, encodeReplicaReport(report(key, 'no-seq', newer, { revision: 2 })));
  await modelWhere('both newer reports', (m) => lastReport(m, 'with-seq') === newer.getTime() && lastReport(m, 'no-seq') === newer.getTime());
  // The replay: the older reports arrive last, then a marker that proves they were delivered.
  nats.publish(statusSubject, encodeReplicaReport(report(key, 'with-seq', new Date(now + 1000), { seq: 6, revision: 1 })));
  nats.publish(statusSubject, encodeReplicaReport(report(key, 'no-seq', older, { revision: 1 })));
  nats.publish(statusSubject, encodeReplicaReport(report(key, 'marker', newer)));
  const after = await modelWhere('the marker after the replayed reports', (m) => lastReport(m, 'marker') !== undefined);
  assert.equal(lastReport(after, 'with-seq'), newer.getTime(), 'seq 7 stays, not the replayed seq 6');
  assert.equal(lastReport(after, 'no-seq'), newer.getTime(), 'the newer reported_at stays');
  assert.equal(after.replicas.find((r) => r.replicaId === 'no-seq')?.state === 'stale', false, 'a healthy replica does not flash as stale');
  assert.equal(watcher.stats.olderIgnored, 2, 'both replayed reports were recognised as older');

  // The durable copy in Redis may be older than the live event we hold: the newer one still wins.
  await publishReplicaReport(control, undefined, report(key, 'no-seq', older, { revision: 1 }));
  const emits = watcher.stats.emits;
  await watcher.refresh(false);
  const reread = await modelWhere('the model after the re-read', () => watcher.stats.emits > emits);
  assert.equal(lastReport(reread, 'no-seq'), newer.getTime(), 'an older durable report does not replace the newer live one');
  watcher.stop();
});

test('seq is optional on the wire: reports without it still decode, a bad one is refused, order falls back to reported_at', () => {
  const base = report('cfg:team:x', 'r1', new Date('2026-11-30T07:00:00.000Z'));
  const withoutSeq = decodeReplicaReport(encodeReplicaReport(base));
  assert.equal('seq' in withoutSeq, false, 'a report without seq stays without seq');
  assert.equal(decodeReplicaReport(encodeReplicaReport({ ...base, seq: 3 })).seq, 3);
  assert.throws(() => decodeReplicaReport(JSON.stringify({ ...JSON.parse(encodeReplicaReport(base)), seq: 0 })), /"seq" is number 0, expected a whole number > 0/);
  // Sub-millisecond digits count: a replica reporting twice within a millisecond.
  const early = { ...base, reportedAt: '2026-11-30T07:00:00.000100Z' };
  const late = { ...base, reportedAt: '2026-11-30T07:00:00.000900Z' };
  assert.equal(isNewerReport(late, early), true);
  assert.equal(isNewerReport(early, late), false);
  // seq decides only within one process: a restarted replica (new started_at) starts counting again.
  const restarted = { ...late, startedAt: '2026-11-30T07:00:00.000500Z', seq: 1 };
  assert.equal(isNewerReport(restarted, { ...early, seq: 40 }), true);
  // A report from a clock set ahead does not hide the restarted process's reports (later start wins).
  const ahead = { ...base, startedAt: '2026-11-30T06:00:00Z', reportedAt: '2026-12-01T00:00:00Z' };
  const afterRestart = { ...base, startedAt: '2026-11-30T07:00:00Z', reportedAt: '2026-11-30T07:00:01Z' };
  assert.equal(isNewerReport(afterRestart, ahead), true);
  assert.equal(isNewerReport(ahead, afterRestart), false);
});

test('a heartbeat with unchanged sections keeps the previous observation\'s sections; a changed section or error is read afresh', () => {
  const first = report('cfg:team:x', 'r1', new Date('2026-11-30T07:00:00.000Z'), {
    sections: {
      pools: { hash: 'a'.repeat(64), appliedAt: '2026-11-30T06:59:00.000Z', trigger: 'notification', revision: 1 },
      timeouts: { hash: 'b'.repeat(64), appliedAt: '2026-11-30T06:00:00.000Z', trigger: 'startup', revision: 1 },
    },
  });
  const held = { report: first, observation: observationOf(first) };
  const heartbeat = { ...first, reportedAt: '2026-11-30T07:00:05.000Z', sections: JSON.parse(JSON.stringify(first.sections)) };
  const next = observationOf(heartbeat, held);
  assert.equal(next.sections, held.observation.sections, 'the same sections object, so the model keeps its views');
  assert.equal(next.reportedAtMs, Date.parse('2026-11-30T07:00:05.000Z'));
  const name = 'pools';
  const applied = { ...heartbeat, sections: { ...heartbeat.sections, [name]: { ...heartbeat.sections[name], appliedAt: '2026-11-30T07:00:04.500Z' } } };
  const changed = observationOf(applied, held);
  assert.notEqual(changed.sections, held.observation.sections);
  assert.equal(changed.sections[name].appliedAtMs, Date.parse('2026-11-30T07:00:04.500Z'));
  const failing = { ...heartbeat, lastError: { at: '2026-11-30T07:00:04Z', message: 'refused', kind: 'apply-failed' as const, section: name, hash: 'f'.repeat(64) } };
  const withError = observationOf(failing, held);
  assert.equal(withError.sections, held.observation.sections);
  assert.equal(withError.lastError?.message, 'refused');
  const sameError = observationOf({ ...failing, reportedAt: '2026-11-30T07:00:06Z' }, { report: failing, observation: withError });
  assert.equal(sameError.lastError, withError.lastError);
  const otherError = observationOf({ ...failing, lastError: { ...failing.lastError, message: 'refused again' } }, { report: failing, observation: withError });
  assert.equal(otherError.lastError?.message, 'refused again');
  assert.equal(observationOf({ ...failing, lastError: null }, { report: failing, observation: withError }).lastError, null);
});

test('a heartbeat that says nothing new is only a newer time; anything else it says, or a long silence before it, is a change', () => {
  const at = (iso: string) => new Date(`2026-11-30T07:00:${iso}Z`);
  const first = report('cfg:team:x', 'r1', at('00.000'), {
    sections: { pools: { hash: 'a'.repeat(64), appliedAt: '2026-11-30T06:59:00.000Z', trigger: 'notification', revision: 1 } },
  });
  const held = observationOf(first);
  const quiet = (next: ReplicaReport, nowIso = '01.000') => onlyNewerTime(observationOf(next, { report: first, observation: held }), held, at(nowIso).getTime(), 15_000);
  const heartbeat = { ...first, reportedAt: at('01.000').toISOString(), sections: JSON.parse(JSON.stringify(first.sections)) };
  assert.equal(quiet(heartbeat), true, 'same sections, error, revision and poll: only the time moved');
  assert.equal(quiet({ ...heartbeat, revision: 2 }), false, 'read a newer revision');
  assert.equal(quiet({ ...heartbeat, pollIntervalMs: 5_000 }), false, 'polls at another interval');
  assert.equal(quiet({ ...heartbeat, lastCheckTrigger: 'notification' }), false, 'checked on another trigger');
  assert.equal(quiet({ ...heartbeat, simulated: true }), false);
  assert.equal(quiet({ ...heartbeat, sections: { pools: { ...heartbeat.sections.pools, hash: 'b'.repeat(64) } } }), false, 'applied another hash');
  assert.equal(quiet({ ...heartbeat, lastError: { at: at('00.500').toISOString(), message: 'refused', kind: 'apply-failed', section: 'pools', hash: 'b'.repeat(64) } }), false, 'an error');
  assert.equal(quiet({ ...heartbeat, reportedAt: at('08.000').toISOString() }, '08.000'), false, 'the held report was half-way to stale (7.5 s of 15 s): the row may be about to turn');
});

test('heartbeats that say nothing new wait for the once-a-second tick; a changed report is modelled at once', { timeout: 20_000 }, async () => {
  const key = await freshKey();
  const statusSubject = `sys.config.status.${key}`;
  const models = modelWaiter();
  const watcher = new DriftWatcher({ ...options(key), onModel: models.onModel });
  await watcher.start();
  try {
    const modelWhere = models.where;
    const ids = ['h1', 'h2', 'h3', 'h4', 'h5'];
    const send = (id: string, extra: Partial<ReplicaReport> = {}) => nats.publish(statusSubject, encodeReplicaReport(report(key, id, new Date(), extra)));
    for (const id of ids) send(id);
    await modelWhere('the five replicas', (m) => ids.every((id) => m.replicas.some((r) => r.replicaId === id)));

    // 1,000 replicas heartbeating send a report every millisecond: here five, every 10 ms, for 1.5 s.
    // Each model used to follow within 200 ms (7 or 8 models in the window); now only the tick makes one.
    const emits = watcher.stats.emits;
    const events = watcher.stats.events;
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const beat = setInterval(() => {
        for (const id of ids) send(id);
        if (Date.now() - started >= 1500) {
          clearInterval(beat);
          resolve();
        }
      }, 10);
    });
    await nats.flush();
    const heard = await modelWhere('a model after the heartbeats', () => watcher.stats.events - events >= ids.length * 100 && watcher.stats.emits > emits);
    const windowS = (Date.now() - started) / 1000;
    const modelCount = watcher.stats.emits - emits;
    assert.ok(modelCount <= Math.ceil(windowS) + 1, `${modelCount} models in ${windowS.toFixed(1)} s of heartbeats: no more than the once-a-second tick`);
    assert.ok(heard.replicas.every((r) => r.state !== 'stale'), 'the heartbeats still count: nobody is stale');

    // A report that changes what a replica shows is modelled at once (within the 200 ms coalescing).
    send('h3', { revision: 7 });
    // modelWhere rejects after 10 s: the wait is the assertion.
    await modelWhere('the changed report', (m) => m.replicas.find((r) => r.replicaId === 'h3')?.revision === 7);
  } finally {
    watcher.stop();
  }
});

test('a publish whose notification never came reaches the model at the next poll, even with no replica to report it', { timeout: 20_000 }, async () => {
  const key = await freshKey();
  const waiters: { revision: number; resolve: () => void }[] = [];
  const modelAt = (revision: number) => new Promise<void>((resolve) => waiters.push({ revision, resolve }));
  const onModel = (m: DriftModel) => {
    for (const w of waiters) if (m.live?.revision === w.revision) w.resolve();
  };
  const watcher = new DriftWatcher({ ...options(key, { pollMs: 100 }), onModel });
  try {
    const first = modelAt(1);
    await watcher.start();
    await first;
    // Written by another writer that never notified (or whose notification NATS dropped).
    const second = modelAt(2);
    await new ConfigStore(control).write(key, { data: { pools: { topics: { 'job.a': 'p' }, pools: {} } }, expectedRevision: 1 });
    await second;
  } finally {
    watcher.stop();
  }
});

test('a live value that no longer decodes is reported at each poll, and replicas still come and go meanwhile', { timeout: 20_000 }, async () => {
  const key = await freshKey();
  const errors: string[] = [];
  const waiters: { until: (m: DriftModel) => boolean; resolve: () => void }[] = [];
  const modelWhere = (until: (m: DriftModel) => boolean) => new Promise<void>((resolve) => waiters.push({ until, resolve }));
  const watcher = new DriftWatcher({ ...options(key, { pollMs: 100 }), onModel: (m) => waiters.forEach((w) => w.until(m) && w.resolve()), onError: (e) => errors.push(e.message) });
  try {
    const first = modelWhere((m) => m.live?.revision === 1);
    await watcher.start();
    await first;
    // Someone writes a value that is not an envelope; then a replica starts reporting.
    await control.set(key, 'not a config document');
    const seen = modelWhere((m) => m.replicas.some((r) => r.replicaId === 'late'));
    await publishReplicaReport(control, undefined, report(key, 'late', new Date()));
    await seen;
    assert.ok(errors.length > 0, 'the undecodable live value is reported');
  } finally {
    watcher.stop();
  }
});
