import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeDocument } from '../../src/core/analysis';
import { judgeMeasurement, runVerdict, summarizeCheck, verdictReason, type Measurement, type QueryAnswer, type VerifyCheckPolicy } from '../../src/core/verification';
import { answerFromBody, parseSampleValue } from '../../src/live/prometheus';

const T = Date.parse('2026-11-30T10:00:00Z');
const latency: VerifyCheckPolicy = { name: 'dispatch_latency_p99', query: 'q', max: 0.5, failureLimit: 1 };
const value = (v: number): QueryAnswer => ({ ok: true, values: [v], at: T });
const judge = (check: VerifyCheckPolicy, answer: QueryAnswer, baseline?: number) => judgeMeasurement(check, answer, baseline, 1, T);

test('a single value is judged against max and min, with the reason a person reads', () => {
  assert.deepEqual([judge(latency, value(0.42)).outcome, judge(latency, value(0.62)).outcome], ['passed', 'failed']);
  assert.equal(judge(latency, value(0.62)).reason, '0.62 > max 0.5');
  const floor: VerifyCheckPolicy = { name: 'throughput', query: 'q', min: 10, failureLimit: 0 };
  assert.equal(judge(floor, value(9.5)).reason, '9.5 < min 10');
  assert.equal(judge(floor, value(10)).outcome, 'passed', 'the bound itself passes');
});

test('no data is never a pass: empty, NaN, infinities and several series are inconclusive; a query error is an error', () => {
  assert.equal(judge(latency, { ok: true, values: [], at: T }).outcome, 'inconclusive');
  assert.equal(judge(latency, value(NaN)).outcome, 'inconclusive');
  assert.equal(judge(latency, value(Infinity)).outcome, 'inconclusive');
  assert.equal(judge({ ...latency, min: 0 }, value(-Infinity)).outcome, 'inconclusive');
  const many = judge(latency, { ok: true, values: [0.1, 0.2, 0.3], at: T });
  assert.equal(many.outcome, 'inconclusive');
  assert.match(many.reason, /3 series: the query must reduce to exactly one/);
  const error = judge(latency, { ok: false, error: 'Prometheus at http://p:9090 is unreachable: ECONNREFUSED' });
  assert.equal(error.outcome, 'error');
  assert.match(error.reason, /Prometheus at http:\/\/p:9090/);
});

test('max_increase compares with the baseline at the publish instant, and cannot pass without one', () => {
  const growth: VerifyCheckPolicy = { name: 'lock_wait', query: 'q', maxIncrease: 0.5, failureLimit: 0 };
  assert.equal(judge(growth, value(0.15), 0.1).outcome, 'passed');
  assert.equal(judge(growth, value(0.16), 0.1).outcome, 'failed');
  assert.match(judge(growth, value(0.16), 0.1).reason, /0\.16 > 0\.15 \(baseline 0\.1 \+50%\)/);
  assert.equal(judge(growth, value(0.01), undefined).outcome, 'inconclusive');
  // An absolute bound still fails without a baseline: the failure is certain.
  assert.equal(judge({ ...growth, max: 1 }, value(2), undefined).outcome, 'failed');
});

function measurements(outcomes: Measurement['outcome'][]): Measurement[] {
  return outcomes.map((outcome, i) => ({ index: i + 1, at: new Date(T + i * 1000).toISOString(), outcome, reason: outcome }));
}

test('a check fails once its failures exceed failure_limit, and the run fails with it at once', () => {
  const one = summarizeCheck(latency, 10, measurements(['failed']));
  assert.equal(one.state, 'running', 'failure_limit 1 tolerates one failure');
  const two = summarizeCheck(latency, 10, measurements(['failed', 'passed', 'failed']));
  assert.equal(two.state, 'failed');
  const other = summarizeCheck({ ...latency, name: 'other' }, 10, measurements(['passed']));
  assert.equal(runVerdict([two, other]), 'failed', 'one failed check fails the run before the others complete');
  assert.match(verdictReason([two, other]), /dispatch_latency_p99 failed 2 of 3 measurements/);
});

test('a run passes only when every check completed count measurements cleanly; otherwise it is inconclusive', () => {
  const clean = summarizeCheck(latency, 3, measurements(['passed', 'passed', 'passed']));
  const tolerated = summarizeCheck(latency, 3, measurements(['passed', 'failed', 'passed']));
  assert.equal(runVerdict([clean, tolerated]), 'passed');
  const unsure = summarizeCheck(latency, 3, measurements(['passed', 'inconclusive', 'passed']));
  assert.equal(runVerdict([clean, unsure]), 'inconclusive');
  const errored = summarizeCheck(latency, 3, measurements(['passed', 'error', 'passed']));
  assert.equal(runVerdict([errored]), 'inconclusive');
  assert.match(verdictReason([errored]), /1 error of 3/);
  assert.equal(runVerdict([clean, summarizeCheck(latency, 3, measurements(['passed']))]), 'running');
  assert.equal(summarizeCheck(latency, 3, []).state, 'pending');
});

// Recorded answers of Prometheus 2.42 (Debian's package) to /api/v1/query.
test('Prometheus answers are read as Prometheus writes them: vectors, scalars, NaN/+Inf strings, errors', () => {
  const vector = { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1764496800.5, '0.25'] }] } };
  assert.deepEqual(answerFromBody(vector, 0, 'P'), { ok: true, values: [0.25], at: 1764496800500 });
  const nan = { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1764496800, 'NaN'] }] } };
  assert.ok(Number.isNaN((answerFromBody(nan, 0, 'P') as { values: number[] }).values[0]));
  assert.equal(parseSampleValue('+Inf'), Infinity);
  assert.equal(parseSampleValue('-Inf'), -Infinity);
  const scalar = { status: 'success', data: { resultType: 'scalar', result: [1764496800, '3'] } };
  assert.deepEqual(answerFromBody(scalar, 0, 'P'), { ok: true, values: [3], at: 1764496800000 });
  const empty = { status: 'success', data: { resultType: 'vector', result: [] } };
  assert.deepEqual(answerFromBody(empty, 7, 'P'), { ok: true, values: [], at: 7 });
  const bad = { status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:6: parse error: unexpected <by>' };
  assert.deepEqual(answerFromBody(bad, 0, 'Prometheus at http://p:9090'), { ok: false, error: 'Prometheus at http://p:9090 refused the query: bad_data: invalid parameter "query": 1:6: parse error: unexpected <by>' });
  const matrix = { status: 'success', data: { resultType: 'matrix', result: [] } };
  assert.match((answerFromBody(matrix, 0, 'P') as { error: string }).error, /range vector/);
});

const POLICY_HEAD = `drift_control:
  source_of_truth: redis
  config_key: cfg:system:default
  notifications: { subject: sys.config.changed }
  polling: { interval: 30s }
  hash_gate: { sections: [pools, timeouts] }
  convergence_slo: { notification_ok: "<= 5s", notification_lost: "<= 30s" }
`;

test('the policy reads verify with its defaults, and says what the schema cannot', () => {
  const text = `${POLICY_HEAD}  verify:
    prometheus: http://prometheus:9090/
    interval: 10s
    count: 3
    on_failure: rollback
    checks:
      - name: p99
        query: vector(1)
        max: 0.5
        max_increase: 50%
        failure_limit: 3
      - name: p99
        query: vector(2)
`;
  const analysis = analyzeDocument(text, 'yaml', 'policy');
  const verify = analysis.policy?.verify;
  assert.ok(verify);
  assert.deepEqual(
    { ...verify, checks: verify.checks.map((c) => ({ ...c })) },
    {
      prometheus: 'http://prometheus:9090',
      initialDelayMs: 30_000,
      intervalMs: 10_000,
      count: 3,
      onFailure: 'rollback',
      checks: [
        { name: 'p99', query: 'vector(1)', max: 0.5, min: undefined, maxIncrease: 0.5, failureLimit: 3 },
        { name: 'p99', query: 'vector(2)', max: undefined, min: undefined, maxIncrease: undefined, failureLimit: 0 },
      ],
    },
  );
  const codes = analysis.problems.map((p) => `${p.code}@${text.slice(p.span.start, p.span.end)}`);
  assert.deepEqual(codes.sort(), ['check-without-threshold@p99', 'duplicate-check-name@p99', 'failure-limit-unreachable@3'].sort());
});

test('a policy with credentials in the Prometheus URL, or the old post_change_checks, is told how to fix it', () => {
  const withCredential = `${POLICY_HEAD}  verify:
    prometheus: http://admin:hunter2@prometheus:9090
    checks: [{ name: p99, query: up, max: 1 }]
`;
  const problems = analyzeDocument(withCredential, 'yaml', 'policy').problems;
  assert.deepEqual(problems.map((p) => [p.code, withCredential.slice(p.span.start, p.span.end)]), [['pattern', 'http://admin:hunter2@prometheus:9090']]);
  assert.doesNotMatch(problems[0].message, /hunter2/, 'the message does not repeat the password');

  const legacy = `${POLICY_HEAD}  post_change_checks:
    - { name: p99, query: up, threshold: 1 }
`;
  const moved = analyzeDocument(legacy, 'yaml', 'policy').problems.find((p) => p.code === 'post-change-checks-moved');
  assert.ok(moved);
  assert.equal(legacy.slice(moved.span.start, moved.span.end), 'post_change_checks');
  assert.match(moved.message, /move each check to drift_control\.verify\.checks/);
});

test('a PromQL syntax error is reported at the character where the query goes wrong, with Prometheus\' grammar', () => {
  const text = `${POLICY_HEAD}  verify:
    prometheus: http://prometheus:9090
    checks:
      - name: ok
        query: histogram_quantile(0.99, sum by (le) (rate(cordum_scheduler_dispatch_latency_seconds_bucket[5m])))
        max: 0.5
      - name: open_call
        query: rate(cordum_scheduler_orphan_replayed_total[5m]
        max: 1
      - name: quoted
        query: "sum by (le (rate(x[5m]))"
        max: 1
      - name: dangling
        query: 'up =='
        max: 1
`;
  const problems = analyzeDocument(text, 'yaml', 'policy').problems.filter((p) => p.code === 'promql-syntax');
  const at = (p: (typeof problems)[number]) => {
    const line = text.slice(0, p.span.start).split('\n').length;
    return `${line}:${text.slice(p.span.start, p.span.end)}`;
  };
  assert.deepEqual(problems.map(at), ['15:]', '18:(', '21:=']);
  assert.match(problems[0].message, /PromQL syntax error in "open_call": the query ends too early inside the function call/);
  assert.match(problems[1].message, /"quoted": unexpected "\(" at column 12 in the by\/without label list/);
});

test('the example policy with the seed\'s four signals validates cleanly, with Cordum\'s metric names', async () => {
  const { readFileSync } = await import('node:fs');
  const text = readFileSync(require.resolve('../../../examples/verify.drift-policy.yaml'), 'utf8');
  const analysis = analyzeDocument(text, 'yaml', 'policy');
  assert.deepEqual(analysis.problems, []);
  const queries = analysis.policy?.verify?.checks.map((c) => c.query).join('\n') ?? '';
  for (const metric of ['cordum_scheduler_dispatch_latency_seconds', 'cordum_scheduler_job_lock_wait_seconds', 'cordum_scheduler_stale_jobs', 'cordum_scheduler_orphan_replayed_total']) assert.ok(queries.includes(metric), metric);
  assert.equal(analysis.policy?.verify?.onFailure, 'rollback');
});

test('issue 10: initial_delay: 0s means no delay (not the 30s default)', async () => {
  const { readFileSync } = await import('node:fs');
  const example = readFileSync(require.resolve('../../../examples/verify.drift-policy.yaml'), 'utf8');
  const policy = (delay: string) => analyzeDocument(example.replace('initial_delay: 30s', `initial_delay: ${delay}`), 'yaml', 'policy').policy?.verify?.initialDelayMs;
  assert.equal(policy('0s'), 0);
  assert.equal(policy('0ms'), 0);
  assert.equal(policy('250ms'), 250);
});
