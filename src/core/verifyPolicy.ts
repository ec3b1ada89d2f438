import type { JsonValue } from './canonical';
import type { LocatedValue } from './documentModel';
import { parseGoDuration } from './duration';
import { problem, type Problem, type Span } from './problems';
import { promqlSyntaxError } from './promqlSyntax';
import type { VerifyCheckPolicy, VerifyPolicy } from './verification';

/** `drift_control.verify` of a drift policy: Prometheus, the schedule and the checks. */

export const VERIFY_DEFAULTS = { initialDelayMs: 30_000, intervalMs: 30_000, count: 10, onFailure: 'notify' as const };

type Obj = { [key: string]: JsonValue };
const obj = (v: JsonValue | undefined): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {});
const num = (v: JsonValue | undefined): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** `50%` → 0.5 (the schema accepts a percentage string only). */
export function parsePercent(text: string): number | undefined {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$/.exec(text);
  return match ? Number(match[1]) / 100 : undefined;
}

/** Reads a schema-valid `verify` block; undefined when the policy has none. */
export function verifyFromData(value: JsonValue | undefined): VerifyPolicy | undefined {
  if (value === undefined) return undefined;
  const v = obj(value);
  // parseGoDuration refuses zero (a poll interval of 0 is a bug); `initial_delay: 0s` means measure at once.
  const zero = (x: string) => /^\s*0+(\.0+)?(ns|us|µs|ms|s|m|h)?\s*$/.test(x);
  const duration = (x: JsonValue | undefined, fallback: number) => (typeof x === 'string' ? (zero(x) ? 0 : (parseGoDuration(x) ?? fallback)) : fallback);
  const checks: VerifyCheckPolicy[] = (Array.isArray(v.checks) ? v.checks : []).map((c) => {
    const check = obj(c);
    return {
      name: typeof check.name === 'string' ? check.name : '',
      query: typeof check.query === 'string' ? check.query : '',
      max: num(check.max),
      min: num(check.min),
      maxIncrease: typeof check.max_increase === 'string' ? parsePercent(check.max_increase) : undefined,
      failureLimit: num(check.failure_limit) ?? 0,
    };
  });
  return {
    prometheus: typeof v.prometheus === 'string' ? v.prometheus.replace(/\/+$/, '') : '',
    // `initial_delay: 0s` (measure as soon as the replicas converged) is valid for the schema; Go
    // durations elsewhere in a policy are positive, so zero is read here rather than by parseGoDuration.
    initialDelayMs: typeof v.initial_delay === 'string' && /^(0+(\.0*)?|\.0+)(ns|us|µs|μs|ms|s|m|h)$/.test(v.initial_delay.trim()) ? 0 : duration(v.initial_delay, VERIFY_DEFAULTS.initialDelayMs),
    intervalMs: duration(v.interval, VERIFY_DEFAULTS.intervalMs),
    count: num(v.count) ?? VERIFY_DEFAULTS.count,
    onFailure: v.on_failure === 'rollback' ? 'rollback' : VERIFY_DEFAULTS.onFailure,
    checks,
  };
}

/**
 * What the schema cannot say about `verify`: duplicate check names, a failure limit that can never
 * be exceeded, and the reserved `post_change_checks` of earlier versions (with how to move it).
 */
export function verifySemanticProblems(located: LocatedValue, text?: string): Problem[] {
  const problems: Problem[] = [];
  const control = obj(obj(located.value).drift_control);
  const legacy = located.locate(['drift_control', 'post_change_checks']);
  if (legacy.exact && control.post_change_checks !== undefined) {
    problems.push(
      problem(
        legacy.key ?? legacy.value,
        'post_change_checks is replaced by verify: move each check to drift_control.verify.checks as {name, query, max: <threshold>} and add verify.prometheus: http://prometheus:9090 (window becomes part of the query, rollback: true becomes verify.on_failure: rollback). These checks are not evaluated.',
        'post-change-checks-moved',
        'warning',
      ),
    );
  }
  const verify = verifyFromData(control.verify);
  if (!verify) return problems;
  const seen = new Map<string, number>();
  verify.checks.forEach((check, i) => {
    const first = seen.get(check.name);
    if (first !== undefined && check.name) {
      problems.push(problem(located.locate(['drift_control', 'verify', 'checks', i, 'name']).value, `Two checks are named "${check.name}" (also check ${first + 1}): measurements are stored by name, so names must be unique.`, 'duplicate-check-name'));
    } else seen.set(check.name, i);
    const syntax = promqlSyntaxError(check.query);
    if (syntax) {
      const at = located.locate(['drift_control', 'verify', 'checks', i, 'query']).value;
      problems.push(problem(querySpan(at, check.query, syntax, text), `PromQL syntax error in "${check.name}": ${syntax.message}.`, 'promql-syntax'));
    }
    if (check.max === undefined && check.min === undefined && check.maxIncrease === undefined) {
      const at = located.locate(['drift_control', 'verify', 'checks', i]);
      problems.push(problem(at.exact ? located.locate(['drift_control', 'verify', 'checks', i, 'name']).value : at.value, `The check "${check.name}" has no threshold: give it max, min or max_increase (or several).`, 'check-without-threshold'));
    }
    if (check.failureLimit >= verify.count) {
      problems.push(
        problem(
          located.locate(['drift_control', 'verify', 'checks', i, 'failure_limit']).value,
          `failure_limit ${check.failureLimit} tolerates every one of the ${verify.count} measurements (count), so "${check.name}" can never fail. Use at most ${verify.count - 1}.`,
          'failure-limit-unreachable',
          'warning',
        ),
      );
    }
  });
  return problems;
}

/**
 * Where a PromQL error sits in the document: exact when the YAML scalar is written as the query
 * itself (plain, or quoted without escapes), else the whole value (a block or escaped scalar).
 */
function querySpan(value: Span, query: string, error: { start: number; end: number }, text: string | undefined): Span {
  if (text === undefined) return value;
  const source = text.slice(value.start, value.end);
  let offset = -1;
  if (source === query) offset = value.start;
  else if (source.length === query.length + 2 && source.slice(1, -1) === query && (source[0] === '"' || source[0] === "'")) offset = value.start + 1;
  return offset < 0 ? value : { start: offset + error.start, end: offset + error.end };
}
