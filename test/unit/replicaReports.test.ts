import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeReplicaReport,
  encodeReplicaReport,
  parseReplicaMember,
  replicaIndexKey,
  replicaMember,
  replicaReportKey,
  isNewerReport,
  ReplicaReportError,
  rfc3339ByDateParse,
  rfc3339ToEpochMs,
  STATUS_SUBJECT,
} from '../../src/live/replicaReports';
import type { ReplicaReport } from '../../src/live/replicaReports';

/** The replica status protocol v1 without servers: wire names, strict decoding, keys. */

const POOLS_HASH = 'da879de4d8577813cf7b478a1c9b6336cb1682ec8984db5796c125469bd0b923';
const TIMEOUTS_HASH = '5e102673f6609b6d6f16962652cd082132e06c4ed95d48b761d341cd1d78ec12';

function sample(): ReplicaReport {
  return {
    v: 1,
    replicaId: 'scheduler-7c9f-2',
    service: 'cordum-scheduler',
    configKey: 'cfg:system:default',
    revision: 42,
    reason: 'apply',
    reportedAt: '2026-11-27T21:40:05.123456789Z',
    startedAt: '2026-11-27T21:00:00Z',
    pollIntervalMs: 30000,
    lastCheckAt: '2026-11-27T21:40:05.1Z',
    lastCheckTrigger: 'notification',
    sections: {
      timeouts: { hash: TIMEOUTS_HASH, appliedAt: '2026-11-27T21:00:00.5Z', trigger: 'startup', revision: 40 },
      pools: { hash: POOLS_HASH, appliedAt: '2026-11-27T21:40:05.1Z', trigger: 'notification', revision: 42 },
    },
    lastError: { at: '2026-11-27T21:40:05.1Z', message: 'applying pools failed: boom', kind: 'apply-failed', section: 'pools', hash: POOLS_HASH },
  };
}

test('the wire form is versioned snake_case JSON and round-trips', () => {
  const text = encodeReplicaReport(sample());
  const wire = JSON.parse(text);
  assert.deepEqual(Object.keys(wire), [
    'v', 'replica_id', 'service', 'config_key', 'revision', 'reason', 'reported_at', 'started_at',
    'poll_interval_ms', 'last_check_at', 'last_check_trigger', 'sections', 'last_error',
  ]);
  assert.equal(wire.v, 1);
  // Sections are written in name order, so equal states give equal bytes.
  assert.deepEqual(Object.keys(wire.sections), ['pools', 'timeouts']);
  assert.deepEqual(wire.sections.pools, { hash: POOLS_HASH, applied_at: '2026-11-27T21:40:05.1Z', trigger: 'notification', revision: 42 });
  assert.deepEqual(wire.last_error, { at: '2026-11-27T21:40:05.1Z', message: 'applying pools failed: boom', section: 'pools', hash: POOLS_HASH, kind: 'apply-failed' });
  assert.deepEqual(decodeReplicaReport(text), sample());
  assert.deepEqual(decodeReplicaReport(new TextEncoder().encode(text)), sample());
});

test('a fresh replica: null revision, no check yet, no sections, no error', () => {
  const fresh: ReplicaReport = { ...sample(), revision: null, reason: 'startup', lastCheckAt: null, lastCheckTrigger: null, sections: {}, lastError: null };
  const wire = JSON.parse(encodeReplicaReport(fresh));
  assert.equal(wire.revision, null);
  assert.equal(wire.last_error, null);
  assert.deepEqual(wire.sections, {});
  assert.deepEqual(decodeReplicaReport(JSON.stringify(wire)), fresh);
});

test('unknown fields are ignored at every level (forward compatible within v1)', () => {
  const wire = JSON.parse(encodeReplicaReport(sample()));
  wire.pod_ip = '10.0.0.7';
  wire.sections.pools.applied_by = 'x';
  wire.last_error.retry_in_ms = 500;
  wire.sections.rate_limits = { hash: POOLS_HASH, applied_at: '2026-11-27T21:40:05Z', trigger: 'poll', revision: 1, extra: true };
  const decoded = decodeReplicaReport(JSON.stringify(wire));
  assert.equal(decoded.sections.pools.hash, POOLS_HASH);
  assert.equal(decoded.sections.rate_limits.trigger, 'poll');
  assert.equal('pod_ip' in decoded, false);
});

test('decoding is strict about version and shape, and names the field', () => {
  const wire = () => JSON.parse(encodeReplicaReport(sample()));
  const rejects = (value: unknown, pattern: RegExp) =>
    assert.throws(() => decodeReplicaReport(typeof value === 'string' ? value : JSON.stringify(value)), (e: Error) => {
      assert.ok(e instanceof ReplicaReportError, String(e));
      assert.match(e.message, pattern);
      return true;
    });
  rejects('{"v":1,', /not valid JSON/);
  rejects([1], /it is an array, not a JSON object/);
  rejects({ ...wire(), v: 2 }, /unsupported version "v": 2; this reader understands 1/);
  rejects({ ...wire(), v: '1' }, /unsupported version "v": "1"/);
  const noVersion = wire();
  delete noVersion.v;
  rejects(noVersion, /no "v" \(protocol version\) field/);
  rejects({ ...wire(), reason: 'restart' }, /"reason" is string "restart", expected one of startup, apply, heartbeat, error/);
  rejects({ ...wire(), revision: -1 }, /"revision" is number -1, expected a whole number >= 0 or null/);
  rejects({ ...wire(), reported_at: 'yesterday' }, /"reported_at" is string "yesterday", expected an RFC 3339 time/);
  rejects({ ...wire(), service: 'a:b' }, /"service" is string "a:b"/);
  const missing = wire();
  delete missing.replica_id;
  rejects(missing, /"replica_id" is missing/);
  const badHash = wire();
  badHash.sections.pools.hash = POOLS_HASH.toUpperCase();
  rejects(badHash, /"sections\.pools\.hash" is string .* expected 64 lowercase hex digits/);
  const badKind = wire();
  badKind.last_error.kind = 'timeout';
  rejects(badKind, /"last_error\.kind" is string "timeout", expected one of invalid, apply-failed, redis-unavailable, live-unreadable/);
  rejects({ ...wire(), last_check_trigger: 'cron' }, /"last_check_trigger" is string "cron"/);
});

test('encoding refuses a report other replicas could not decode', () => {
  assert.throws(() => encodeReplicaReport({ ...sample(), pollIntervalMs: 0 }), /"poll_interval_ms" is number 0/);
  assert.throws(() => encodeReplicaReport({ ...sample(), sections: { pools: { ...sample().sections.pools, hash: 'abc' } } }), ReplicaReportError);
});

test('keys share the config document hash tag; members split at the first colon', () => {
  assert.equal(replicaReportKey('cfg:system:default', 'cordum-scheduler', 'host:1234'), 'driftlens:replica:{cfg:system:default}:cordum-scheduler:host:1234');
  assert.equal(replicaIndexKey('cfg:system:default'), 'driftlens:replicas:{cfg:system:default}');
  assert.equal(replicaMember('svc', 'r-1'), 'svc:r-1');
  assert.deepEqual(parseReplicaMember('svc:host:1234'), { service: 'svc', replicaId: 'host:1234' });
  assert.throws(() => replicaReportKey('cfg:team:{x}', 'svc', 'r'), /must be non-empty without whitespace or braces/);
  assert.throws(() => replicaMember('a:b', 'r'), /service "a:b"/);
  assert.throws(() => replicaMember('svc', 'r 1'), /replica id "r 1"/);
  assert.equal(STATUS_SUBJECT, 'sys.config.status');
});

test('reported_at converts to the index score in epoch ms, with nanoseconds and offsets', () => {
  assert.equal(rfc3339ToEpochMs('2026-11-27T21:40:05.123456789Z'), Date.UTC(2026, 10, 27, 21, 40, 5, 123));
  assert.equal(rfc3339ToEpochMs('2026-11-27T21:40:05Z'), Date.UTC(2026, 10, 27, 21, 40, 5));
  assert.equal(rfc3339ToEpochMs('2026-11-27T22:40:05.5+01:00'), Date.UTC(2026, 10, 27, 21, 40, 5, 500));
  assert.ok(Number.isNaN(rfc3339ToEpochMs('2026-11-27 21:40:05')));
});

/** Times near and past every field's limits, in every form the pattern might or might not accept. */
const timeText = fc
  .record({
    year: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(1900, 2000, 2024, 2100)),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 60 }),
    second: fc.integer({ min: 0, max: 61 }),
    fraction: fc.option(fc.stringMatching(/^[0-9]{0,12}$/), { nil: undefined }),
    zone: fc.oneof(fc.constantFrom('Z', 'z', '', 'Zx', '+00:00', '-00:00', '+1:00', '+01:0'), fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 })).map(([s, h, m]) => `${s}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`)),
    sep: fc.constantFrom('T', 't', ' ', 'T', 'T'),
  })
  .map((t) => {
    const two = (n: number) => String(n).padStart(2, '0');
    return `${String(t.year).padStart(4, '0')}-${two(t.month)}-${two(t.day)}${t.sep}${two(t.hour)}:${two(t.minute)}:${two(t.second)}${t.fraction === undefined ? '' : '.' + t.fraction}${t.zone}`;
  });

test('the fast time reading agrees with the pattern and Date.parse on every input, valid or not', () => {
  fc.assert(
    fc.property(fc.oneof(timeText, fc.string({ maxLength: 40 })), (time) => {
      assert.ok(Object.is(rfc3339ToEpochMs(time), rfc3339ByDateParse(time)), `${JSON.stringify(time)}: ${rfc3339ToEpochMs(time)} against ${rfc3339ByDateParse(time)}`);
    }),
    { numRuns: 20_000 },
  );
  // The edges by name: leap days, the last second of a day, offsets that cross midnight.
  for (const time of ['2024-02-29T23:59:59.999Z', '2023-02-29T00:00:00Z', '2100-02-29T00:00:00Z', '2000-02-29T00:00:00Z', '0099-12-31T00:00:00Z', '2026-01-01T00:30:00+01:00', '2026-12-31T23:30:00-01:00', '2026-11-27T24:00:00Z']) {
    assert.ok(Object.is(rfc3339ToEpochMs(time), rfc3339ByDateParse(time)), time);
  }
});

test('reports of one process order by reported_at to the nanosecond, whatever the fraction length or offset', () => {
  const fraction = fc.stringMatching(/^[0-9]{1,12}$/);
  fc.assert(
    fc.property(fraction, fraction, fc.constantFrom('Z', '+01:00', '-05:30'), (a, b, zone) => {
      const at = (f: string) => ({ ...sample(), reportedAt: `2026-11-27T21:40:05.${f}${zone}` });
      // What nanoseconds each says: nine digits, cut or padded.
      const ns = (f: string) => Number(f.padEnd(9, '0').slice(0, 9));
      assert.equal(isNewerReport(at(a), at(b)), ns(a) >= ns(b), `${a} against ${b} (${zone})`);
    }),
    { numRuns: 5_000 },
  );
});

test('simulated replicas say so with "simulated": true; real ones send nothing new, and old readers keep working', () => {
  const simulated = JSON.parse(encodeReplicaReport({ ...sample(), simulated: true }));
  assert.equal(simulated.simulated, true);
  assert.equal(decodeReplicaReport(JSON.stringify(simulated)).simulated, true);
  const real = JSON.parse(encodeReplicaReport({ ...sample(), simulated: false }));
  assert.equal('simulated' in real, false, 'a real replica writes exactly the v1 fields it always wrote');
  assert.equal(decodeReplicaReport(encodeReplicaReport(sample())).simulated, undefined, 'a report without the field is a real replica');
  assert.equal(decodeReplicaReport(JSON.stringify({ ...real, simulated: false })).simulated, undefined);
  assert.throws(() => decodeReplicaReport(JSON.stringify({ ...real, simulated: 'yes' })), /"simulated" is string "yes", expected true or false/);
});
