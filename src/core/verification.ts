import { formatDuration } from './duration';

/**
 * Verify, the fourth stage (Detect, Validate, Apply, Verify): after a publish, PromQL checks are
 * measured against Prometheus and judged, and the run ends in one verdict tied to the revision.
 * This module is the pure part: the policy's checks, how one answer of Prometheus is judged, and
 * how measurements add up to a check's and a run's verdict. No I/O, no clock: the verifier
 * (src/live/verifier.ts) feeds it, and every editor and CLI judges the stored measurements alike.
 *
 * The model follows Argo Rollouts' AnalysisRun (interval, count, initialDelay, failureLimit;
 * successful / failed / inconclusive / error) and Flagger's threshold ranges, with one rule both
 * of them leave to the user: no data is never a pass. An empty result, NaN, an infinity, or more
 * than one series makes a measurement inconclusive.
 */

export interface VerifyCheckPolicy {
  name: string;
  query: string;
  /** Fails when the value is above. */
  max?: number;
  /** Fails when the value is below. */
  min?: number;
  /** Fails when the value is above baseline × (1 + maxIncrease); 0.5 for `50%`. */
  maxIncrease?: number;
  /** Failed measurements tolerated: one more fails the check. */
  failureLimit: number;
}

export interface VerifyPolicy {
  /** Base URL of the Prometheus HTTP API (no credentials: those come from secret storage or the environment). */
  prometheus: string;
  initialDelayMs: number;
  intervalMs: number;
  /** Measurements per check. */
  count: number;
  onFailure: 'notify' | 'rollback';
  checks: VerifyCheckPolicy[];
}

/** What one instant query answered, reduced to what judging needs. */
export type QueryAnswer =
  /** One value per series (a scalar result is one value); `at`: Prometheus' evaluation time, ms since the epoch. */
  | { ok: true; values: number[]; at: number }
  | { ok: false; error: string };

export type MeasurementOutcome = 'passed' | 'failed' | 'inconclusive' | 'error';

export interface Measurement {
  /** 1-based, in the order taken. */
  index: number;
  /** ISO time of the measurement, on Prometheus' clock when it answered, else the verifier's. */
  at: string;
  /** The single finite value, when there was one. */
  value?: number;
  outcome: MeasurementOutcome;
  /** In a person's words: `0.62 > max 0.5`, `no series: the query must return exactly one`, ... */
  reason: string;
}

/** Go-like short number: 0.5, 1234, 1.5e-7; never 17 digits of float noise. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-4)) return v.toPrecision(4).replace(/\.?0+e/, 'e');
  return String(+v.toPrecision(6));
}

/** The thresholds of a check, as a person reads them next to a value: `≤ 0.5`, `≥ 10`, `≤ baseline +50%`. */
export function describeThresholds(check: VerifyCheckPolicy, baseline?: number): string {
  const parts: string[] = [];
  if (check.min !== undefined) parts.push(`≥ ${formatValue(check.min)}`);
  if (check.max !== undefined) parts.push(`≤ ${formatValue(check.max)}`);
  if (check.maxIncrease !== undefined) {
    const pct = `${formatValue(check.maxIncrease * 100)}%`;
    parts.push(baseline === undefined ? `≤ baseline +${pct}` : `≤ ${formatValue(increaseLimit(baseline, check.maxIncrease))} (baseline ${formatValue(baseline)} +${pct})`);
  }
  return parts.join(', ') || 'no threshold';
}

function increaseLimit(baseline: number, maxIncrease: number): number {
  // A negative baseline (a delta, say) grows towards zero by the same share of its size.
  return baseline + Math.abs(baseline) * maxIncrease;
}

/**
 * Judges one answer. `baseline` is the same query at the publish instant (undefined when that was
 * inconclusive or not taken); a `max_increase` check cannot pass without one.
 */
export function judgeMeasurement(check: VerifyCheckPolicy, answer: QueryAnswer, baseline: number | undefined, index: number, fallbackAt: number): Measurement {
  if (!answer.ok) return { index, at: new Date(fallbackAt).toISOString(), outcome: 'error', reason: answer.error };
  const at = new Date(answer.at).toISOString();
  const inconclusive = (reason: string, value?: number): Measurement => ({ index, at, value, outcome: 'inconclusive', reason });
  if (answer.values.length === 0) return inconclusive('no series: the query returned an empty result (no data is never a pass)');
  if (answer.values.length > 1) return inconclusive(`${answer.values.length} series: the query must reduce to exactly one (wrap it in sum, max or histogram_quantile)`);
  const value = answer.values[0];
  if (!Number.isFinite(value)) return inconclusive(`the value is ${formatValue(value)}`);
  const failures: string[] = [];
  if (check.max !== undefined && value > check.max) failures.push(`${formatValue(value)} > max ${formatValue(check.max)}`);
  if (check.min !== undefined && value < check.min) failures.push(`${formatValue(value)} < min ${formatValue(check.min)}`);
  let noBaseline = false;
  if (check.maxIncrease !== undefined) {
    if (baseline === undefined || !Number.isFinite(baseline)) noBaseline = true;
    else if (value > increaseLimit(baseline, check.maxIncrease)) {
      failures.push(`${formatValue(value)} > ${formatValue(increaseLimit(baseline, check.maxIncrease))} (baseline ${formatValue(baseline)} +${formatValue(check.maxIncrease * 100)}%)`);
    }
  }
  if (failures.length > 0) return { index, at, value, outcome: 'failed', reason: failures.join('; ') };
  if (noBaseline) return inconclusive(`${formatValue(value)}, but there is no baseline to compare max_increase with (the query had no single value at the publish instant)`, value);
  return { index, at, value, outcome: 'passed', reason: `${formatValue(value)} within ${describeThresholds(check, baseline)}` };
}

export type CheckState = 'pending' | 'running' | 'passed' | 'failed' | 'inconclusive';

export interface CheckSummary {
  name: string;
  state: CheckState;
  done: number;
  count: number;
  failed: number;
  inconclusive: number;
  errors: number;
  latest?: Measurement;
}

/**
 * A check fails once its failed measurements exceed `failure_limit`. It passes when all `count`
 * measurements were taken within that limit and none was inconclusive or an error; a completed
 * check with any of those is inconclusive.
 */
export function summarizeCheck(check: VerifyCheckPolicy, count: number, measurements: readonly Measurement[]): CheckSummary {
  const failed = measurements.filter((m) => m.outcome === 'failed').length;
  const inconclusive = measurements.filter((m) => m.outcome === 'inconclusive').length;
  const errors = measurements.filter((m) => m.outcome === 'error').length;
  const done = measurements.length;
  let state: CheckState;
  if (failed > check.failureLimit) state = 'failed';
  else if (done < count) state = done === 0 ? 'pending' : 'running';
  else state = inconclusive + errors > 0 ? 'inconclusive' : 'passed';
  return { name: check.name, state, done, count, failed, inconclusive, errors, latest: measurements[measurements.length - 1] };
}

export type RunVerdict = 'running' | 'passed' | 'failed' | 'inconclusive';

/** The run fails as soon as one check fails; it passes when every check passed; else it is inconclusive once all are done. */
export function runVerdict(checks: readonly CheckSummary[]): RunVerdict {
  if (checks.some((c) => c.state === 'failed')) return 'failed';
  if (checks.some((c) => c.state === 'pending' || c.state === 'running')) return 'running';
  return checks.every((c) => c.state === 'passed') ? 'passed' : 'inconclusive';
}

/** One line for a person: why the run ended as it did. */
export function verdictReason(checks: readonly CheckSummary[]): string {
  const failed = checks.filter((c) => c.state === 'failed');
  if (failed.length > 0) return failed.map((c) => `${c.name} failed ${c.failed} of ${c.done} measurements (${c.latest?.reason ?? ''})`).join('; ');
  const unsure = checks.filter((c) => c.state === 'inconclusive');
  if (unsure.length > 0) {
    return unsure
      .map((c) => `${c.name}: ${[c.inconclusive ? `${c.inconclusive} inconclusive` : '', c.errors ? `${c.errors} error${c.errors === 1 ? '' : 's'}` : ''].filter(Boolean).join(', ')} of ${c.done}`)
      .join('; ');
  }
  if (checks.every((c) => c.state === 'passed')) return `${checks.length} check${checks.length === 1 ? '' : 's'} passed ${checks[0]?.count ?? 0} measurements each`;
  return `measuring: ${checks.map((c) => `${c.name} ${c.done}/${c.count}`).join(', ')}`;
}

/**
 * The latest time by which a degradation present from the first measurement on is judged:
 * initial_delay + interval × failure_limit for the measurements themselves, plus one interval of
 * slack for the query window and one scrape interval for the data to reach Prometheus.
 */
export function verdictBudgetMs(policy: VerifyPolicy, check: VerifyCheckPolicy, scrapeIntervalMs: number): number {
  return policy.initialDelayMs + policy.intervalMs * (check.failureLimit + 1) + scrapeIntervalMs;
}

/** When measurement `index` (1-based) of a run whose clock started at `startMs` is due. */
export function measurementDueAt(policy: VerifyPolicy, startMs: number, index: number): number {
  return startMs + policy.initialDelayMs + (index - 1) * policy.intervalMs;
}

export function describeSchedule(policy: VerifyPolicy): string {
  return `${policy.count} measurement${policy.count === 1 ? '' : 's'} per check, every ${formatDuration(policy.intervalMs)}, starting ${formatDuration(policy.initialDelayMs)} after the replicas converged`;
}

/**
 * Whether the replicas settled on `revision`, so measuring means measuring the change: the live
 * revision is it and no replica is still converging. Replicas that drifted, rejected it or went
 * stale will not settle by waiting; the drift view already reports them.
 */
export function replicasSettled(model: { live?: { revision: number }; counts: Record<string, number> }, revision: number): boolean {
  return model.live?.revision === revision && (model.counts.converging ?? 0) === 0 && (model.counts['not-checked'] ?? 0) === 0;
}
