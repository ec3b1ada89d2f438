import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';

/** Statistics and formatting shared by the benchmarks. */

export const MB = 1024 * 1024;

/** Nearest rank: the smallest value with at least q of the runs at or below it. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/** Milliseconds with sensible precision: 2.12 ms, 44.9 ms, 290 ms, 1.15 s. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

// ---------------------------------------------------------------------------------------------
// The machine and the child processes every benchmark reports and runs.


/** "AMD EPYC, 2 cores, 24 GB RAM, Node v20.20.2, linux x64". */
export function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GB RAM, Node ${process.version}, ${os.platform()} ${os.arch()}`;
}

export const loadavg = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** `<command> --version`, for the servers a benchmark ran against. */
export function version(command: string): string {
  try {
    return execFileSync(command, ['--version'], { encoding: 'utf8', timeout: 5000 }).trim();
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

/** Children still running, so a signal handler can kill them all. */
export const children = new Set<ChildProcess>();

/**
 * Runs this benchmark file again as a child (`--child ...args`), in a fresh heap, and resolves with
 * the one result it sends over IPC; kills it past `timeoutMs`.
 */
export function runChildCase<T>(file: string, args: string[], label: string, timeoutMs: number, execArgv: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(file, ['--child', ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv, serialization: 'advanced' });
    children.add(child);
    // DRIFTLENS_BENCH_TIMEOUT_SCALE stretches the budget on a machine busy with other work, where
    // a case is slow rather than hung.
    const budgetMs = timeoutMs * (Number(process.env.DRIFTLENS_BENCH_TIMEOUT_SCALE) || 1);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not finish within ${budgetMs / 1000} s (DRIFTLENS_BENCH_TIMEOUT_SCALE stretches it on a busy machine)`));
    }, budgetMs);
    let answer: T | undefined;
    child.on('message', (m) => (answer = m as T));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (answer !== undefined && code === 0) resolve(answer);
      else reject(new Error(`the ${label} child exited with ${code}`));
    });
  });
}

/** Prints the machine, the server versions and the load, and returns them for the report. */
export function announceRun(): { machineLine: string; servers: string; loadBefore: string } {
  const machineLine = machine();
  const servers = `${version('redis-server')}; ${version('nats-server')}`;
  const loadBefore = loadavg();
  console.log(`Machine: ${machineLine}`);
  console.log(`Servers: ${servers}`);
  console.log(`Load average at start (1/5/15 min): ${loadBefore}`);
  return { machineLine, servers, loadBefore };
}

/**
 * Stops the servers a benchmark started, and its children, on Ctrl-C or SIGTERM; the returned
 * function does the same at the end of the run and removes the signal handlers.
 */
export function stopOnSignals(running: Set<{ dispose(): Promise<void> }>): () => Promise<void> {
  const stopAll = async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all([...running].map((s) => s.dispose().catch(() => undefined)));
    running.clear();
  };
  const onSignal = (signal: NodeJS.Signals) => void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return async () => {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
