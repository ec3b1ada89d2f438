/**
 * Typing in an 8 MB config document, measured inside the real extension host by the in-host test
 * test/vscode/suite/largeDocuments.test.ts (monitorEventLoopDelay plus a 10 ms timer that records
 * each stall). That test writes test-results/extensionHostLag.json; `npm run bench:typing` runs it
 * alone and copies the file to bench/results/, and this module renders it into BENCHMARKS.md.
 */
import type { HostProfileSummary } from '../test/vscode/suite/hostProfile';
import type { SavedRun } from './results';
import { runLine } from './results';

interface Delay {
  max: number;
  p99: number;
  p50: number;
  mean: number;
  samples: number;
}

interface Stall {
  atMs: number;
  ms: number;
  /** How long of it the host waited for a CPU (the kernel's run-queue wait; absent in older runs). */
  cpuWaitMs?: number;
  /** How long the host's thread ran on a CPU over it, and its major page faults meanwhile (absent in older runs). */
  onCpuMs?: number;
  majorFaults?: number;
}

interface Watch {
  eventLoopDelayMs: Delay;
  stallsOver50Ms: Stall[];
  gcOver20Ms: { atMs: number; ms: number }[];
  gcTotalMs: number;
}

export interface ExtensionHostLagResults extends Watch {
  documentChars: number;
  keystrokes: number;
  keystrokeIntervalMs: number;
  resolutionMs: number;
  mergeConflictScans: string;
  /** Absent in older runs (link detection on). */
  linkDetection?: string;
  /** Absent in older runs (the remote host's port scan on). */
  portScan?: string;
  /** A full garbage collection before each measured window (absent in older runs: none). */
  fullGcBeforeEachWindow?: boolean;
  idle: Watch;
  /** A CPU profile of the host over the typing window: whose code ran in each long task (absent in older runs). */
  profile?: HostProfileSummary;
  /** The same keystrokes in the same text in a file DriftLens ignores, over a window as long (absent in older runs). */
  ignoredByDriftLens?: Watch & { windowMs: number; profile?: HostProfileSummary };
  typingMs: number;
  lastKeystrokeToDiagnosticsMs: number;
  openToFirstDiagnosticsMs: number;
  getTextMs: number[];
}

const TASK_LIMIT_MS = 50;

/** "97 ms (2, 40, 30)" per long task of a profile, or "none". */
function profiledTasks(p: HostProfileSummary): string {
  // A task before the watch's first tick has no wait of its own: "?" where other tasks have one.
  const waits = p.longTasks.some((t) => t.cpuWaitMs !== undefined);
  return p.longTasks.length ? p.longTasks.map((t) => `${t.ms} ms (${t.driftlensMs}, ${t.gcMs}${waits ? `, ${t.cpuWaitMs ?? '?'}` : ''})`).join(', ') : 'none';
}

/** ", called from f bundle.js:3 < g bundle.js:9": the nearest callers of a task's top function that are in a bundle, not Node's own. */
function calledFrom(t: HostProfileSummary['longTasks'][number]): string {
  const callers = (t.topCallers ?? []).filter((c) => /\.js:\d+$/.test(c)).slice(0, 2);
  return callers.length ? `, called from ${callers.join(' < ')}` : '';
}

/** "0.4 MB of 31.2 MB": DriftLens's sampled allocation of everyone's. */
const allocated = (a: NonNullable<HostProfileSummary['allocated']>) => `${a.driftlensMb} MB of ${a.totalMb} MB`;

/** Whether the run knows how long of each stall the host waited for a CPU. */
const knowsCpuWait = (w: { stallsOver50Ms: Stall[] }) => w.stallsOver50Ms.every((s) => s.cpuWaitMs !== undefined);
/** A stall's own length: what is left once the time the host waited for a CPU is taken out. */
const ownMs = (s: Stall) => Math.round((s.ms - (s.cpuWaitMs ?? 0)) * 10) / 10;
const ownStalls = (w: Watch) => w.stallsOver50Ms.filter((s) => ownMs(s) > TASK_LIMIT_MS);

export function renderExtensionHostLag(run: SavedRun<ExtensionHostLagResults>): Record<string, string> {
  const r = run.results;
  const stalls = (w: Watch) => (w.stallsOver50Ms.length ? `${w.stallsOver50Ms.length} (longest ${Math.max(...w.stallsOver50Ms.map((s) => s.ms))} ms)` : 'none');
  const own = (w: Watch) => {
    const over = ownStalls(w);
    return over.length ? `${over.length} (longest ${Math.max(...over.map(ownMs))} ms)` : 'none';
  };
  const detail = (s: Stall) => (s.onCpuMs === undefined ? '' : ` (on a CPU ${s.onCpuMs}${s.majorFaults ? `, ${s.majorFaults} major page fault${s.majorFaults === 1 ? '' : 's'}` : ''})`);
  const waits = (w: Watch) => (w.stallsOver50Ms.length ? w.stallsOver50Ms.map((s) => `${s.ms} − ${s.cpuWaitMs}${detail(s)}`).join(', ') + ' ms' : '–');
  const delays = (w: Watch) => `${w.eventLoopDelayMs.max} / ${w.eventLoopDelayMs.p99} / ${w.eventLoopDelayMs.p50} ms`;
  const gcs = (w: Watch) => (w.gcOver20Ms.length ? `${w.gcOver20Ms.length} (longest ${Math.max(...w.gcOver20Ms.map((g) => g.ms))} ms)` : 'none');
  const base = r.ignoredByDriftLens;
  const row = (what: string, typing: string, idle: string, ignored = '') => `| ${what} | ${typing} | ${base ? `${ignored} | ` : ''}${idle} |`;
  const table = [
    runLine(run),
    '',
    `Document: ${(r.documentChars / 1e6).toFixed(1)} MB (Cordum-shaped config), ${r.keystrokes} keystrokes ${r.keystrokeIntervalMs} ms apart in the middle of its topics; VS Code's merge-conflict scans ${r.mergeConflictScans}${r.linkDetection ? `; link detection ${r.linkDetection}` : ''}${r.portScan ? `; the remote host's port scan ${r.portScan}` : ''}${r.fullGcBeforeEachWindow ? '; a full garbage collection before each measured window' : ''}.`,
    '',
    `| extension host | while typing | ${base ? 'the same typing in a file DriftLens ignores | ' : ''}idle, for comparison |`,
    `|---|---|${base ? '---|' : ''}---|`,
    row(`event-loop delay of a ${r.resolutionMs} ms timer: max / p99 / p50`, delays(r), delays(r.idle), base && delays(base)),
    row(`tasks over ${TASK_LIMIT_MS} ms (the timer ran that much late)`, stalls(r), stalls(r.idle), base && stalls(base)),
    ...(knowsCpuWait(r) && knowsCpuWait(r.idle) && (!base || knowsCpuWait(base))
      ? [
          row('each of them: its length − the time the host waited for a CPU (the kernel\'s run-queue wait); in brackets, its time on a CPU over the timer\'s interval', waits(r), waits(r.idle), base && waits(base)),
          row(`tasks over ${TASK_LIMIT_MS} ms once that wait is taken out`, own(r), own(r.idle), base && own(base)),
        ]
      : []),
    row('garbage collections over 20 ms', gcs(r), gcs(r.idle), base && gcs(base)),
    ...(r.profile
      ? [
          row(
            `tasks over ${TASK_LIMIT_MS} ms in a CPU profile of the window (${r.profile.samplingUs} µs samples): length (DriftLens's code, garbage collection${[r.profile, base?.profile].some((p) => p?.longTasks.some((t) => t.cpuWaitMs !== undefined)) ? ', waiting for a CPU' : ''})`,
            profiledTasks(r.profile),
            '',
            base?.profile ? profiledTasks(base.profile) : 'not profiled',
          ),
          row('the most DriftLens code in any one task', `${r.profile.longestDriftLens.ms} ms (in a task of ${r.profile.longestDriftLens.taskMs} ms)`, '', base?.profile ? `${base.profile.longestDriftLens.ms} ms` : ''),
          row('DriftLens code over the whole window', `${r.profile.driftlensTotalMs} ms of ${(r.profile.windowMs / 1000).toFixed(1)} s`, '', base?.profile ? `${base.profile.driftlensTotalMs} ms of ${(base.profile.windowMs / 1000).toFixed(1)} s` : ''),
          ...(r.profile.allocated
            ? [
                row(
                  'allocated on the host over the window, sampled (what the collections had to clear): with DriftLens code on the stack, of all',
                  allocated(r.profile.allocated),
                  '',
                  base?.profile?.allocated ? allocated(base.profile.allocated) : '',
                ),
              ]
            : []),
        ]
      : []),
    row('last keystroke to the typed version\'s diagnostics', `${(r.lastKeystrokeToDiagnosticsMs / 1000).toFixed(1)} s`, ''),
    row('open to the first diagnostics', `${(r.openToFirstDiagnosticsMs / 1000).toFixed(1)} s`, ''),
    row('one `document.getText()` (what the worker spares the host per edit)', r.getTextMs.map((t) => `${t} ms`).join(', '), ''),
  ].join('\n');
  const longest = Math.max(0, ...r.stallsOver50Ms.map((s) => s.ms));
  // Where the run knows the host's run-queue wait, the verdict is on each task's own length: the
  // profiler and the timer count wall time, and on a shared machine other processes take some of it.
  const judged = knowsCpuWait(r) ? ownStalls(r) : r.stallsOver50Ms;
  const ownLine = knowsCpuWait(r)
    ? ` Taking out the time the host waited for a CPU while other processes ran (the kernel's run-queue wait for the host's thread): ${judged.length === 0 ? 'none' : `${judged.length}, the longest ${Math.max(...judged.map(ownMs))} ms`}` +
      (base && knowsCpuWait(base) ? `; in the file DriftLens ignores, ${ownStalls(base).length === 0 ? 'none' : `${ownStalls(base).length}, the longest ${Math.max(...ownStalls(base).map(ownMs))} ms`}.` : '.')
    : '';
  const targets =
    `- **No extension-host task over ${TASK_LIMIT_MS} ms while typing in an 8 MB document: ${judged.length === 0 ? 'met' : 'not met'}.** ` +
    (r.stallsOver50Ms.length === 0
      ? `The ${r.resolutionMs} ms timer never ran more than ${TASK_LIMIT_MS} ms late (largest delay ${r.eventLoopDelayMs.max} ms including the timer's own ${r.resolutionMs} ms).`
      : `${r.stallsOver50Ms.length} task${r.stallsOver50Ms.length === 1 ? '' : 's'} ran over ${TASK_LIMIT_MS} ms, the longest ${longest} ms; the 99th percentile of the timer's delay was ${r.eventLoopDelayMs.p99} ms including its own ${r.resolutionMs} ms. ` +
        (base
          ? `The same keystrokes in the same text in a file DriftLens ignores, watched as long (${(base.windowMs / 1000).toFixed(1)} s): ${stalls(base)} over ${TASK_LIMIT_MS} ms, p99 ${base.eventLoopDelayMs.p99} ms: what VS Code's own handling of edits to a 300,000-line document costs this host, with DriftLens doing nothing.`
          : `A CPU profile of such runs puts those tasks in VS Code's own handling of an edit to a 300,000-line document (applying it to the host's line array, link detection), not in DriftLens: see below.`) +
        ownLine);
  const profile = r.profile;
  const ours = profile
    ? `\n- **DriftLens's own code: ${profile.longestDriftLens.ms <= TASK_LIMIT_MS ? `no task held more than ${TASK_LIMIT_MS} ms of it` : `a task held ${profile.longestDriftLens.ms} ms of it`}.** ` +
      `In a CPU profile of the same window, the most DriftLens code in any one task was ${profile.longestDriftLens.ms} ms (in a task of ${profile.longestDriftLens.taskMs} ms), ${profile.driftlensTotalMs} ms over the whole ${(profile.windowMs / 1000).toFixed(1)} s. ` +
      (profile.longTasks.length
        ? `The long tasks there: ${profile.longTasks.map((t) => `${t.ms} ms (DriftLens ${t.driftlensMs} ms, garbage collection ${t.gcMs} ms${t.cpuWaitMs === undefined ? '' : `, waiting for a CPU ${t.cpuWaitMs} ms`}; most self time in ${t.top.slice(0, 2).join(', ')}${calledFrom(t)})`).join('; ')}.`
        : `No task in it ran over ${TASK_LIMIT_MS} ms.`) +
      (profile.driftlensTop.length ? ` DriftLens's time went to ${profile.driftlensTop.slice(0, 4).join(', ')} (inclusive).` : '') +
      (profile.allocated
        ? ` Over the window the host allocated ${profile.allocated.totalMb} MB (sampled), most in ${(profile.allocated.top ?? []).slice(0, 2).join(', ')}; ${profile.allocated.driftlensMb} MB of it with DriftLens code on the stack${profile.allocated.driftlensTop.length ? ` (most in ${profile.allocated.driftlensTop.slice(0, 2).join(', ')})` : ''}${base?.profile?.allocated ? `; in the file DriftLens ignores, ${base.profile.allocated.totalMb} MB` : ''}.`
        : '')
    : '';
  return { 'typing-table': table, 'typing-targets': targets + ours };
}
