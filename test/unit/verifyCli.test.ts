import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigStore } from '../../src/live/configStore';
import { closeRedis, connectRedis, type RedisClient } from '../../src/live/redisConnection';
import type { VerificationRecord } from '../../src/live/verificationStore';
import { startExporter, startPrometheus, type PrometheusServer } from '../support/prometheus';
import { freePort, startNats, startRedis, type ServerProcess } from '../support/servers';
import { cliAsAclUser, ROOT, runCli } from './helpers';

// `driftlens verify`, `publish --verify` and `history` as CI runs them: the built CLI against a
// real Prometheus scraping a real exporter every 250 ms, real Redis and NATS. The test moves the
// exporter's gauge to degrade the "service".

const CLI = path.join(ROOT, 'dist/cli.js');
const METRIC = 'cordum_scheduler_dispatch_latency_p99';
// The bcrypt hash (cost 4, glibc crypt) of PASSWORD, for Prometheus' --web.config.file.
const USER = 'verifier';
const PASSWORD = 's3cret-verify';
const BCRYPT = '$2b$04$abcdefghijklmnopqrstuuUy.eSQ4qY8w8pe01lDk2xZOSNGpwgOu';

let redisServer: ServerProcess & { url: string };
let natsServer: ServerProcess & { url: string };
let prometheus: PrometheusServer;
let guarded: PrometheusServer;
let exporter: Awaited<ReturnType<typeof startExporter>>;
let redis: RedisClient;
let work: string;
let keyCounter = 0;

before(async () => {
  exporter = await startExporter();
  exporter.set(METRIC, 0.1);
  [redisServer, natsServer, prometheus, guarded] = await Promise.all([
    startRedis(),
    startNats(),
    startPrometheus([exporter.target], '250ms'),
    startPrometheus([exporter.target], '250ms', [], { user: USER, password: PASSWORD, bcrypt: BCRYPT }),
  ]);
  redis = await connectRedis({ url: redisServer.url }, { name: 'verify-cli-test' });
  work = mkdtempSync(path.join(tmpdir(), 'dl-verify-cli-'));
  await Promise.all([prometheus.scraped(), guarded.scraped()]);
});

after(async () => {
  await closeRedis(redis);
  await Promise.all([redisServer.dispose(), natsServer.dispose(), prometheus.dispose(), guarded.dispose(), exporter.close()]);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI as CI would: connections through environment variables, no terminal. */
async function driftlens(args: string[], env: Record<string, string> = {}, onStdout?: (text: string) => void): Promise<Run> {
  const started = Date.now();
  const run = await runCli(args, { PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url, ...env }, { cwd: work, onStdout });
  return { ...run, ms: Date.now() - started };
}

const POLICY_BASE = `drift_control:
  source_of_truth: redis
  config_key: cfg:system:default
  notifications:
    subject: sys.config.changed
    mode: broadcast
  polling:
    interval: 30s
  hash_gate:
    sections: [pools, timeouts]
  convergence_slo:
    notification_ok: "<= 5s"
    notification_lost: "<= 30s"
`;

/** A drift policy whose verify block measures the exporter's gauge: 3 measurements, 300 ms apart. */
function policyFile(verify: { prometheus?: string; onFailure?: 'notify' | 'rollback'; query?: string; count?: number; failureLimit?: number } = {}): string {
  const file = path.join(work, `policy-${++keyCounter}.drift-policy.yaml`);
  writeFileSync(
    file,
    `${POLICY_BASE}  verify:
    prometheus: ${verify.prometheus ?? prometheus.url}
    initial_delay: 0s
    interval: 300ms
    count: ${verify.count ?? 3}
    on_failure: ${verify.onFailure ?? 'notify'}
    checks:
      - name: dispatch_latency_p99
        query: ${JSON.stringify(verify.query ?? `max(${METRIC})`)}
        max: 0.5
        failure_limit: ${verify.failureLimit ?? 0}
`,
  );
  return file;
}

/** A config document (data map) whose default topic goes to `pool`. */
function configFile(pool: string): string {
  const file = path.join(work, `cfg-${pool}-${++keyCounter}.yaml`);
  writeFileSync(file, `pools:\n  topics:\n    job.default: ${pool}\n  pools:\n    ${pool}:\n      requires: []\ntimeouts:\n  workflows: {}\n  topics: {}\n`);
  return file;
}

const freshKey = () => `cfg:team:verifycli${process.pid}-${++keyCounter}`;

async function publish(key: string, pool: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Run> {
  // Each publish reroutes one of the fixture's two topics (many-topics): accepted by name.
  return driftlens(['publish', configFile(pool), '--yes', '--accept-risk', 'many-topics', '--key', key, ...extra], env);
}

async function liveData(key: string): Promise<unknown> {
  return (await new ConfigStore(redis).read(key))?.envelope.data;
}

async function degraded<T>(work: () => Promise<T>): Promise<T> {
  exporter.set(METRIC, 2);
  await Promise.all([prometheus.answers(`max(${METRIC})`, '2'), guarded.answers(`max(${METRIC})`, '2')]);
  try {
    return await work();
  } finally {
    exporter.set(METRIC, 0.1);
    await Promise.all([prometheus.answers(`max(${METRIC})`, '0.1'), guarded.answers(`max(${METRIC})`, '0.1')]);
  }
}

test('verify measures the live revision: a line per measurement, exit 0; --json prints the stored record; history shows the verdict', async () => {
  const key = freshKey();
  const policy = policyFile();
  assert.equal((await publish(key, 'a', ['--policy', policy])).code, 0);
  const run = await driftlens(['verify', '--policy', policy, '--key', key]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`^verifying ${key} revision 1 against Prometheus at ${prometheus.url}: 3 measurements per check, every 300ms`, 'm'));
  assert.match(run.stdout, /^ {2}\[1\/3\] dispatch_latency_p99 0\.1 passed: 0\.1 within ≤ 0\.5$/m);
  assert.match(run.stdout, /^ {2}\[3\/3\] dispatch_latency_p99 0\.1 passed/m);
  assert.match(run.stdout, new RegExp(`^${key} revision 1: verification passed \\(1 check passed 3 measurements each\\)$`, 'm'));

  // A second verify reads the stored verdict instead of measuring again; --json keeps stdout for the record.
  const json = await driftlens(['verify', '--policy', policy, '--key', key, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const record = JSON.parse(json.stdout) as VerificationRecord;
  assert.equal(json.stdout.trim().split('\n').length, 1, 'one JSON document on stdout');
  assert.equal(record.key, key);
  assert.equal(record.revision, 1);
  assert.equal(record.state, 'passed');
  assert.equal(record.count, 3);
  assert.equal(record.checks[0].name, 'dispatch_latency_p99');
  assert.deepEqual(record.checks[0].measurements.map((m) => [m.index, m.value, m.outcome]), [[1, 0.1, 'passed'], [2, 0.1, 'passed'], [3, 0.1, 'passed']]);
  assert.match(json.stderr, /^verifying /m, 'progress goes to stderr under --json');

  const history = await driftlens(['history', '--policy', policy, '--key', key]);
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, /^r1 .* verify passed$/m);
});

test('a degradation fails verify (exit 1, with the rollback command); publish --verify with on_failure: rollback exits 8 and the previous data is live again', async () => {
  const key = freshKey();
  const notify = policyFile();
  const rollback = policyFile({ onFailure: 'rollback' });
  const good = await publish(key, 'good', ['--policy', rollback, '--verify']);
  assert.equal(good.code, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /revision 1: verification passed/);
  const goodData = await liveData(key);

  await degraded(async () => {
    // on_failure: notify: the verdict, and what a rollback would restore.
    assert.equal((await publish(key, 'bad', ['--policy', notify])).code, 0);
    const failed = await driftlens(['verify', '--policy', notify, '--key', key]);
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    assert.match(failed.stdout, /^ {2}\[1\/3\] dispatch_latency_p99 2 failed: 2 > max 0\.5$/m);
    assert.match(failed.stdout, /revision 2: verification failed \(dispatch_latency_p99 failed 1 of 1 measurements \(2 > max 0\.5\)\)/);
    assert.match(failed.stdout, /to roll back to revision 1 \(the last revision whose verification passed\): driftlens rollback 1/);
    assert.equal((await new ConfigStore(redis).read(key))?.envelope.revision, 2, 'notify: nothing rolled back');

    // on_failure: rollback, after publish --verify: exit 8, the rollback said and done.
    const bad = await publish(key, 'worse', ['--policy', rollback, '--verify']);
    assert.equal(bad.code, 8, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /published .* revision 3/);
    assert.match(bad.stdout, /revision 3: verification failed/);
    assert.match(bad.stdout, /rollback done: rolled back to the data of revision 1 \(the last revision whose verification passed\) as revision 4; replicas notified/);
  });
  const live = await new ConfigStore(redis).read(key);
  assert.equal(live?.envelope.revision, 4);
  assert.deepEqual(live?.envelope.data, goodData, "revision 1's data is live again");

  const stored = await driftlens(['verify', '--policy', notify, '--key', key, '--revision', '3']);
  assert.equal(stored.code, 1, 'the stored verdict of revision 3 is read: failed');
  const history = await driftlens(['history', '--policy', notify, '--key', key]);
  assert.match(history.stdout, /^r3 .* verify failed \(rolled back as r4\)$/m);
  assert.match(history.stdout, /^r2 .* verify failed$/m);
  assert.match(history.stdout, /^r1 .* verify passed$/m);
});

test('a revision published during verification supersedes it: no rollback, the message says who published, exit 7', async () => {
  const key = freshKey();
  const rollback = policyFile({ onFailure: 'rollback', count: 10, failureLimit: 8 });
  assert.equal((await publish(key, 'one')).code, 0);
  // Bob publishes as soon as the first (failed) measurement is printed, before failure_limit is exceeded.
  let newer: Promise<unknown> | undefined;
  const result = await degraded(() =>
    driftlens(['publish', configFile('two'), '--yes', '--accept-risk', 'many-topics', '--key', key, '--policy', rollback, '--verify'], {}, (out) => {
      if (!newer && /\[1\/10\] dispatch_latency_p99 2 failed/.test(out)) {
        newer = new ConfigStore(redis).write(key, { data: { pools: { topics: {}, pools: {} } }, expectedRevision: 2, meta: { published_by: 'bob@ops' } });
      }
    }),
  );
  await newer;
  assert.equal(result.code, 7, result.stdout + result.stderr);
  assert.match(result.stdout, /revision 2: verification superseded \(revision 3 was published by bob@ops at [^;]+; its own verification takes over\)/);
  assert.doesNotMatch(result.stdout, /rollback/);
  assert.equal((await new ConfigStore(redis).read(key))?.envelope.revision, 3, "bob's revision stays live");
});

test('an empty result is inconclusive (exit 7), never a pass', async () => {
  const key = freshKey();
  const policy = policyFile({ query: 'max(cordum_scheduler_no_such_metric)' });
  assert.equal((await publish(key, 'a')).code, 0);
  const run = await driftlens(['verify', '--policy', policy, '--key', key]);
  assert.equal(run.code, 7, run.stdout + run.stderr);
  assert.match(run.stdout, /\[1\/3\] dispatch_latency_p99 - inconclusive: no series: the query returned an empty result/);
  assert.match(run.stdout, /verification inconclusive \(dispatch_latency_p99: 3 inconclusive of 3\)/);
});

test('Prometheus down: exit 7 with Prometheus named, without hanging', async () => {
  const key = freshKey();
  const down = `http://127.0.0.1:${await freePort()}`;
  assert.equal((await publish(key, 'a')).code, 0);
  const run = await driftlens(['verify', '--policy', policyFile(), '--key', key, '--prometheus-url', down]);
  assert.equal(run.code, 7, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`\\[1/3\\] dispatch_latency_p99 - error: Prometheus at ${down} is unreachable: ECONNREFUSED`));
  assert.match(run.stdout, /verification inconclusive \(dispatch_latency_p99: 3 errors of 3\)/);
  assert.ok(run.ms < 20_000, `finished in ${run.ms} ms`);
});

test('a Prometheus behind basic auth: credentials from the environment, refused for the policy URL unless trusted, never printed', async () => {
  const key = freshKey();
  const policy = policyFile({ prometheus: guarded.url });
  assert.equal((await publish(key, 'a')).code, 0);
  const creds = { DRIFTLENS_PROMETHEUS_USER: USER, DRIFTLENS_PROMETHEUS_PASSWORD: PASSWORD };

  const refused = await driftlens(['verify', '--policy', policy, '--key', key], creds);
  assert.equal(refused.code, 2, refused.stdout + refused.stderr);
  assert.match(refused.stderr, new RegExp(`DRIFTLENS_PROMETHEUS_PASSWORD would go to the Prometheus named by ${policy.replace(/[.]/g, '\\.')} \\(verify\\.prometheus: ${guarded.url}\\)`));
  assert.match(refused.stderr, /--prometheus-url .*--trust-policy-endpoints/);

  const anonymous = await driftlens(['verify', '--policy', policy, '--key', key]);
  assert.equal(anonymous.code, 7, anonymous.stdout + anonymous.stderr);
  assert.match(anonymous.stdout, new RegExp(`error: Prometheus at ${guarded.url} refused the credentials \\(HTTP 401\\)`));

  for (const [what, args] of [
    ['trusted policy', ['--trust-policy-endpoints']],
    ['--prometheus-url', ['--prometheus-url', guarded.url]],
  ] as const) {
    // The anonymous run left an inconclusive verdict stored: a new revision to verify.
    assert.equal((await publish(key, `p${++keyCounter}`)).code, 0);
    const run = await driftlens(['verify', '--policy', policy, '--key', key, ...args], creds);
    assert.equal(run.code, 0, `${what}: ${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /verification passed/);
    for (const out of [run.stdout, run.stderr, refused.stdout, refused.stderr, anonymous.stdout]) assert.ok(!out.includes(PASSWORD), 'the password is never printed');
  }
});

test('verify --watch verifies each revision as it is published, one JSON record per verdict, until Ctrl-C', async () => {
  const key = freshKey();
  const policy = policyFile();
  assert.equal((await publish(key, 'a')).code, 0);
  const child = spawn(process.execPath, [CLI, 'verify', '--watch', '--json', '--policy', policy, '--key', key], {
    cwd: work,
    env: { PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const records: VerificationRecord[] = [];
  const waiters: (() => void)[] = [];
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    const lines = stdout.split('\n');
    stdout = lines.pop() ?? '';
    for (const line of lines) records.push(JSON.parse(line) as VerificationRecord);
    waiters.splice(0).forEach((w) => w());
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const verdicts = async (n: number) => {
    while (records.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  try {
    await verdicts(1);
    assert.deepEqual([records[0].revision, records[0].state], [1, 'passed'], stderr);
    assert.equal((await publish(key, 'b')).code, 0);
    await verdicts(2);
    assert.deepEqual([records[1].revision, records[1].state], [2, 'passed'], stderr);
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /^watching .*: verifying each revision as it is published/m);
});

test('verify needs drift_control.verify and a valid policy: exit 2, the policy named', async () => {
  const plain = path.join(work, 'plain.drift-policy.yaml');
  writeFileSync(plain, POLICY_BASE);
  const none = await driftlens(['verify', '--policy', plain]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, new RegExp(`the drift policy ${plain.replace(/[.]/g, '\\.')} has no drift_control\\.verify`));
  const publishing = await driftlens(['publish', configFile('x'), '--yes', '--accept-risk', 'many-topics', '--key', freshKey(), '--policy', plain, '--verify']);
  assert.equal(publishing.code, 2, 'publish --verify is refused before anything is written');
  assert.equal(publishing.stdout, '');

  const syntax = policyFile({ query: 'sum(rate(x[5m])' });
  const bad = await driftlens(['verify', '--policy', syntax]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /is invalid:[\s\S]*PromQL syntax error in "dispatch_latency_p99"/);
});

test('publish --verify whose Redis user may not touch the verification records: the publish stands, so exit 7 with the refusal named, not 4 ("nothing written")', async (t) => {
  const key = freshKey();
  const env = (await cliAsAclUser(t, { control: redis, redisUrl: redisServer.url, natsUrl: natsServer.url }, 'verify-no-records', '+@all', '~cfg:*', '~driftlens:history:*')) as Record<string, string>;
  const run = await publish(key, 'a', ['--verify', '--policy', policyFile()], env);
  // Before: exit 4, the status of a publish that wrote nothing, over a revision that was live and notified.
  assert.equal(run.code, 7, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`published ${key} revision 1 `));
  assert.match(run.stderr, new RegExp(`^driftlens: ${key} revision 1 is published, but its verification could not run: Redis at \\S+ \\(user verify-no-records\\) refused GET driftlens:verify:\\{${key}\\}:1 \\(NOPERM [^)]*keys[^)]*\\): the Redis user needs read access`));
  assert.equal((await new ConfigStore(redis).read(key))?.envelope.revision, 1, 'the publish stands');
});
