/** Go's time.ParseDuration, for the positive durations a drift policy uses (`30s`, `1m30s`, `250ms`). */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign
  'μs': 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART_RE = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Milliseconds, or undefined when the text is not a Go duration (signs and bare "0" are refused: a policy needs positive times). */
export function parseGoDuration(text: string): number | undefined {
  const s = text.trim();
  if (s.length === 0) return undefined;
  let total = 0;
  PART_RE.lastIndex = 0;
  let at = 0;
  while (at < s.length) {
    PART_RE.lastIndex = at;
    const match = PART_RE.exec(s);
    if (!match) return undefined;
    total += parseFloat(match[1]) * UNIT_MS[match[2]];
    at = PART_RE.lastIndex;
  }
  return total > 0 ? total : undefined;
}

/** A convergence bound such as `<= 5s` or `< 1m`. */
export interface Bound {
  inclusive: boolean;
  ms: number;
}

export function parseBound(text: string): Bound | undefined {
  const match = /^\s*(<=?)\s*(.+)$/.exec(text);
  if (!match) return undefined;
  const ms = parseGoDuration(match[2]);
  return ms === undefined ? undefined : { inclusive: match[1] === '<=', ms };
}

export function withinBound(elapsedMs: number, bound: Bound): boolean {
  return bound.inclusive ? elapsedMs <= bound.ms : elapsedMs < bound.ms;
}

/** A short human form: 250ms, 5s, 1m30s, 2h. */
export function formatDuration(ms: number): string {
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  return (h ? `${h}h` : '') + (m ? `${m}m` : '') + (s ? `${s}s` : '') || '0s';
}

/** Below this, a time "in the future" is the ordinary jitter between two clocks, shown as now. */
export const CLOCK_JITTER_MS = 1000;

/**
 * How long ago something happened, given `elapsedMs` = now - then: "4s ago". A time well ahead of
 * our clock is said as such ("2m40s in the future (clock skew?)"), never as a negative age.
 */
export function formatAge(elapsedMs: number): string {
  if (elapsedMs <= -CLOCK_JITTER_MS) return `${formatDuration(-elapsedMs)} in the future (clock skew?)`;
  return `${formatDuration(Math.max(0, elapsedMs))} ago`;
}

/** The shortest poll interval DriftLens accepts: below it, replicas would only hammer Redis. */
export const MIN_POLL_INTERVAL_MS = 100;
/** The shortest report heartbeat: reports are writes to a shared Redis and NATS. */
export const MIN_HEARTBEAT_MS = 100;

/**
 * Parses a duration an operator gave for a timer, or says why not: not a Go duration, or below
 * `minMs` (a `1ns` poll would spin). Undefined error means `ms` is usable.
 */
export function parseTimerDuration(text: string, minMs: number): { ms: number; error?: undefined } | { ms?: undefined; error: string } {
  const ms = parseGoDuration(text);
  if (ms === undefined) return { error: 'must be a Go duration such as 30s, 1m30s or 250ms' };
  if (ms < minMs) return { error: `must be at least ${formatDuration(minMs)}` };
  return { ms };
}
