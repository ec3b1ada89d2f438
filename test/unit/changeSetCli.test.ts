import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import Redis from 'ioredis';
import { startNats, startRedis, type ServerProcess } from '../support/servers';
import { ROOT, runCli } from './helpers';

const KEY = 'cfg:team:impact';

let redisServer: ServerProcess & { url: string };
let natsServer: ServerProcess & { url: string };
let redis: Redis;
let work: string;

before(async () => {
  [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
  redis = new Redis(redisServer.url);
  work = mkdtempSync(path.join(tmpdir(), 'dl-impact-'));
  const seeded = await driftlens(['publish', local('seed.yaml'), '--yes']);
  assert.equal(seeded.code, 0, seeded.stderr);
});

after(async () => {
  redis.disconnect();
  await Promise.all([redisServer.dispose(), natsServer.dispose()]);
});

function driftlens(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli([...args, '--key', KEY], { PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url }, { cwd: work });
}

const FIXTURE = readFileSync(path.join(ROOT, 'test/fixtures/config/cfg.system.default.yaml'), 'utf8').replace(/^revision: 7$/m, 'revision: 0');

/** The fixture as a data file (no revision: publishes are based on the live one), with edits. */
function local(name: string, edit: (text: string) => string = (t) => t): string {
  const file = path.join(work, name);
  writeFileSync(file, edit(FIXTURE).replace(/^revision: \d+\n/m, ''));
  return file;
}

/** The change every test below reviews: a cut timeout, a drained pool still routed beside an active one, a scheduler flag. */
const risky = (t: string) =>
  t
    .replace('timeout_seconds: 120', 'timeout_seconds: 30')
    .replace('        status: active', '        status: draining')
    .replace('output_policy_enabled: true', 'output_policy_enabled: false')
    .replace('job.default: default', 'job.default: [default]');

test('diff --format text: every property old -> new, risks first; exit 9 for a risk, 1 once it is accepted', async () => {
  const file = local('cfg.risky.yaml', risky);
  const result = await driftlens(['diff', file]);
  assert.equal(result.code, 9, result.stderr);
  assert.equal(
    result.stdout,
    [
      `${KEY} revision 1 -> ${file}`,
      'risks (1):',
      '  timeout-cut                timeouts.topics["job.fraud-detection.process"].timeout_seconds is cut by more than half, from 120 s to 30 s: work that ran within the old timeout may now be cut off.',
      'changes (4):',
      '  ~ pools.topics["job.default"]: "default" -> ["default"] (same pools, written another way ("p" vs ["p"]): the hash changes, routing does not)',
      '  ~ pools.pools["fraud-detection"].status: "active" -> "draining"',
      '  ~ timeouts.topics["job.fraud-detection.process"].timeout_seconds: 120 -> 30',
      '  ~ scheduler.output_policy_enabled: true -> false',
      '',
    ].join('\n'),
  );
  assert.equal((await driftlens(['diff', file, '--accept-risk', 'timeout-cut'])).code, 1);
  const same = await driftlens(['diff', local('cfg.same.yaml')]);
  assert.equal(same.code, 0, same.stdout);
  assert.equal(same.stdout, `${path.join(work, 'cfg.same.yaml')} matches ${KEY} revision 1\n`);
});

test('diff --format json: {changes: [{section, path, kind, from, to}], risks: [{code, path, message}]} plus key and revision', async () => {
  const file = local('cfg.json-out.yaml', risky);
  const result = await driftlens(['diff', file, '--format', 'json']);
  assert.equal(result.code, 9);
  const out = JSON.parse(result.stdout);
  assert.deepEqual(Object.keys(out), ['key', 'live_revision', 'file', 'changes', 'risks']);
  assert.equal(out.key, KEY);
  assert.equal(out.live_revision, 1);
  assert.deepEqual(out.changes[1], { section: 'pools', path: 'pools.pools["fraud-detection"].status', kind: 'changed', from: 'active', to: 'draining' });
  assert.deepEqual(out.changes[0].to, ['default']);
  assert.equal(out.changes[0].hash_only, true);
  assert.deepEqual(out.changes[3], { section: 'scheduler', path: 'scheduler.output_policy_enabled', kind: 'changed', from: true, to: false });
  assert.deepEqual(out.risks.map((r: { code: string }) => r.code), ['timeout-cut']);
  assert.deepEqual(Object.keys(out.risks[0]), ['code', 'path', 'message']);
});

test('diff --format markdown: a pull-request comment with the risks and a table; a section that fails validation is compared, with its risk', async () => {
  const file = local('cfg.markdown.yaml', (t) => risky(t).replace('scan_interval_seconds: 30', 'scan_interval_seconds: -5'));
  const result = await driftlens(['diff', file, '--format', 'markdown']);
  assert.equal(result.code, 9, result.stderr);
  const md = result.stdout;
  assert.match(md, new RegExp(`^### DriftLens: .*cfg\\.markdown\\.yaml against ${KEY} revision 1\\n\\n5 changes \\(1 hash-only\\), 3 risks\\.\\n`));
  assert.match(md, /\n- ⚠️ \*\*unapplied-section\*\*: The new timeouts section fails validation/);
  assert.match(md, /\n- ⚠️ \*\*timeout-cut\*\*: /);
  assert.match(md, /\n- ⚠️ \*\*scan-interval-change\*\*: /);
  assert.match(md, /\n\| changed \| `timeouts\.reconciler\.scan_interval_seconds` \| `30` \| `-5` \|  \|\n/);
  // publish still refuses the file: it has errors.
  assert.equal((await driftlens(['publish', file, '--yes'])).code, 1);
});

test('publish shows the change set; with --yes a risk needs --accept-risk CODE (exit 9, nothing written), a wrong code is a usage error', async () => {
  const file = local('cfg.publish.yaml', risky);
  const refused = await driftlens(['publish', file, '--yes']);
  assert.equal(refused.code, 9);
  assert.match(refused.stdout, /\n {2}~ timeouts\.topics\["job\.fraud-detection\.process"\]\.timeout_seconds: 120 -> 30\n/);
  assert.match(refused.stdout, /\nrisks \(1\):\n {2}timeout-cut {16}timeouts\.topics/);
  assert.equal(refused.stderr, 'driftlens: 1 risk not accepted (timeout-cut); nothing was written. To publish anyway: --accept-risk timeout-cut\n');
  assert.equal(JSON.parse((await redis.get(KEY)) ?? '{}').revision, 1, 'nothing written');

  const typo = await driftlens(['publish', file, '--yes', '--accept-risk', 'timeout-cutt']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /--accept-risk: "timeout-cutt" is not a risk code \(unapplied-section, topic-without-active-pool, /);

  // Without --yes and without a terminal: not confirmed, as before (exit 6).
  assert.equal((await driftlens(['publish', file, '--accept-risk', 'timeout-cut'])).code, 6);

  const accepted = await driftlens(['publish', file, '--yes', '--accept-risk', 'scan-interval-change', '--accept-risk', 'timeout-cut']);
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.match(accepted.stdout, new RegExp(`published ${KEY} revision 2 `));
  assert.equal(JSON.parse((await redis.get(KEY)) ?? '{}').data.timeouts.topics['job.fraud-detection.process'].timeout_seconds, 30);
});
