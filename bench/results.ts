import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadavg } from './stats';

/**
 * Raw benchmark results, kept next to BENCHMARKS.md in bench/results/<bench>.json. The document's
 * tables (and every number its text quotes) are generated from these files by bench/report.ts, so
 * text and numbers cannot drift apart: a new run rewrites the JSON, `npm run bench:report` the
 * document.
 */
export interface SavedRun<T> {
  bench: string;
  /** How to reproduce it. */
  command: string;
  /** ISO 8601 UTC, when the run ended. */
  date: string;
  /** CPU, cores, RAM, Node version, OS. */
  machine: string;
  /** The Redis and NATS servers it ran against, when it used any. */
  servers?: string;
  /** Load average (1/5/15 min) at the start and the end: this machine is shared. */
  load: { start: string; end: string };
  wallSeconds: number;
  results: T;
}

export const ROOT = path.resolve(__dirname, '..', '..');
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

export function resultsFile(bench: string, root = ROOT): string {
  return path.join(root, 'bench', 'results', `${bench}.json`);
}

/** The record of a run that just ended: `started` is its performance.now() at the start. */
export function endRun<T>(bench: string, command: string, announced: { machineLine: string; servers?: string; loadBefore: string }, started: number, results: T): SavedRun<T> {
  return {
    bench,
    command,
    date: new Date().toISOString(),
    machine: announced.machineLine,
    ...(announced.servers ? { servers: announced.servers } : {}),
    load: { start: announced.loadBefore, end: loadavg() },
    wallSeconds: (performance.now() - started) / 1000,
    results,
  };
}

/**
 * Writes the run to bench/results/<bench>.json and returns it as read back, so what the bench
 * prints is exactly what the document will show. Fractions are kept to 4 decimals (0.1 µs on a time
 * in ms); a missing measurement (NaN) is stored as null and read back as NaN.
 */
export function saveRun<T>(run: SavedRun<T>): SavedRun<T> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = resultsFile(run.bench);
  const round = (_key: string, value: unknown) => (typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value) ? Math.round(value * 1e4) / 1e4 : value);
  writeFileSync(file, JSON.stringify(run, round) + '\n');
  console.log(`results: ${path.relative(process.cwd(), file)} (npm run bench:report rewrites BENCHMARKS.md from it)`);
  return loadRun<T>(run.bench);
}

export function loadRun<T>(bench: string, root = ROOT): SavedRun<T> {
  return JSON.parse(readFileSync(resultsFile(bench, root), 'utf8'), (_key, value: unknown) => (value === null ? NaN : value)) as SavedRun<T>;
}

/** "Run of 2026-11-28 00:07 UTC on AMD EPYC, …; load average 2.00 at the start and 1.60 at the end; 80 s." */
export function runLine(run: SavedRun<unknown>): string {
  const when = run.date.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
  const load = (l: string) => l.split(' ')[0];
  return (
    `**Machine:** ${run.machine}.${run.servers ? ` Servers: ${run.servers}, on the same machine.` : ''} ` +
    `Run of ${when}, load average ${load(run.load.start)} at the start and ${load(run.load.end)} at the end, ` +
    `bench wall time ${run.wallSeconds.toFixed(0)} s (\`${run.command}\`).`
  );
}
