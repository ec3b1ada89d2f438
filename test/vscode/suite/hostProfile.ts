import { Session } from 'node:inspector';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * A CPU profile of the extension host over a window, read as tasks: whose code ran in each long one.
 *
 * The event-loop sampler in largeDocuments.test.ts says that the host stalled; this says who stalled
 * it. V8's sampling profiler (the inspector, in-process) records a stack every SAMPLING_US while the
 * host runs and an "(idle)" sample while it waits. A task is a run of samples with no idle one in
 * between; a sample is DriftLens's when any frame of its stack is in DriftLens's bundles (so a VS Code
 * API that DriftLens calls, such as `document.getText()`, counts as DriftLens's: it would not run
 * otherwise), "garbage collection" when the collector runs (nobody's alone: every allocation feeds
 * it), and VS Code's otherwise.
 */

const SAMPLING_US = 500;
/** How many callers of a long task's top function are kept: enough to name the extension that called it. */
const CALLERS_KEPT = 8;

export interface HostTask {
  /** When it started, ms after the profile did. */
  atMs: number;
  ms: number;
  /** Time with DriftLens code on the stack. */
  driftlensMs: number;
  gcMs: number;
  /** Where the time went: the top functions by self time (DriftLens's marked), "name file:line". */
  top: string[];
  /** Who called the top one: its callers, nearest first, "name file:line" (absent in older runs). */
  topCallers?: string[];
  /**
   * How long of it the host waited for a CPU, at most (the kernel's run-queue wait between the
   * watch's ticks around the task, capped at its length): the profiler samples wall time, so a task
   * the machine preempted looks long.
   * Absent in older runs and where the kernel does not say.
   */
  cpuWaitMs?: number;
}

export interface HostProfileSummary {
  samplingUs: number;
  windowMs: number;
  /** Every task over `longMs`. */
  longTasks: HostTask[];
  longMs: number;
  /** The longest stretch of DriftLens code in any one task, and the task's own length. */
  longestDriftLens: { ms: number; taskMs: number; top: string[] };
  /** DriftLens time over the whole window, and where it went (inclusive ms per DriftLens function). */
  driftlensTotalMs: number;
  driftlensTop: string[];
  /**
   * What the host allocated over the window, sampled (V8's sampling heap profiler, objects since
   * collected included): everyone's, and DriftLens's (DriftLens code on the stack), in MB, with the
   * functions that allocated most, of all and of DriftLens's. What the collector's pauses dealt with.
   * Absent in older runs and where the inspector cannot sample.
   */
  allocated?: { totalMb: number; driftlensMb: number; driftlensTop: string[]; top: string[] };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/** One allocation sample per this many bytes on average: small enough to see DriftLens's few kilobytes per keystroke. */
const HEAP_SAMPLING_BYTES = 4 * 1024;

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T))));
}

/** The host's run-queue wait between two monotonic times in ms (the clock V8 stamps profiles with), if known. */
export type CpuWaitBetween = (fromMs: number, toMs: number) => number | undefined;

/** `isOurs(url)`: whether a script is DriftLens's (its bundles). */
export async function startHostProfile(isOurs: (url: string) => boolean, longMs = 50): Promise<{ stop(cpuWaitBetween?: CpuWaitBetween): Promise<HostProfileSummary> }> {
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: SAMPLING_US });
  // Allocation too, with the objects collected meanwhile: by default the sampler keeps only what is alive at its stop.
  const sampling = await post(session, 'HeapProfiler.enable')
    .then(() => post(session, 'HeapProfiler.startSampling', { samplingInterval: HEAP_SAMPLING_BYTES, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }))
    .then(
      () => true,
      () => false,
    );
  await post(session, 'Profiler.start');
  return {
    async stop(cpuWaitBetween?: CpuWaitBetween) {
      const { profile } = await post<{ profile: Profile }>(session, 'Profiler.stop');
      await post(session, 'Profiler.disable');
      const heap = sampling ? (await post<{ profile: { head: HeapNode } }>(session, 'HeapProfiler.stopSampling')).profile : undefined;
      if (sampling) await post(session, 'HeapProfiler.disable');
      session.disconnect();
      const summary = summarise(profile, isOurs, longMs);
      if (heap) summary.allocated = summariseAllocation(heap.head, isOurs);
      for (const task of summary.longTasks) {
        const from = profile.startTime / 1000 + task.atMs;
        // The ticks around a task can be further apart than the task: what they saw is its upper bound.
        const waited = cpuWaitBetween?.(from, from + task.ms);
        if (waited !== undefined) task.cpuWaitMs = Math.min(waited, task.ms);
      }
      return summary;
    },
  };
}

/** "name file:line" of a frame, in a CPU profile or a heap profile alike. */
const frameName = (n: { callFrame: ProfileNode['callFrame'] }) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop() || ''}:${n.callFrame.lineNumber + 1}`.trim();

function summarise(profile: Profile, isOurs: (url: string) => boolean, longMs: number): HostProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Per node: whether DriftLens is on its stack, and the DriftLens frames on it (for inclusive time).
  const oursCache = new Map<number, ProfileNode[]>();
  const oursOnStack = (id: number): ProfileNode[] => {
    const cached = oursCache.get(id);
    if (cached) return cached;
    const node = byId.get(id)!;
    const up = parent.has(id) ? oursOnStack(parent.get(id)!) : [];
    const mine = isOurs(node.callFrame.url) ? [...up, node] : up;
    oursCache.set(id, mine);
    return mine;
  };
  const kindOf = (id: number) => byId.get(id)!.callFrame.functionName;

  const tasks: HostTask[] = [];
  const driftlensInclusive = new Map<string, number>();
  let driftlensTotalUs = 0;
  let longestOurs = { us: 0, taskUs: 0, top: [] as string[] };
  let task: { startUs: number; us: number; oursUs: number; gcUs: number; self: Map<string, number>; selfNode: Map<string, number> } | undefined;
  /** The callers of a node, nearest first: which code a native frame such as `spawn` ran for. */
  const callersOf = (id: number): string[] => {
    const names: string[] = [];
    for (let up = parent.get(id); up !== undefined && names.length < CALLERS_KEPT; up = parent.get(up)) {
      const node = byId.get(up)!;
      if (node.callFrame.url || node.callFrame.functionName.startsWith('(')) names.push(frameName(node));
    }
    return names;
  };
  // The first delta is from the profile's start to its first sample: tasks are placed from the start.
  let nowUs = profile.timeDeltas[0] ?? 0;
  const close = () => {
    if (!task) return;
    const ranked = [...task.self].sort((a, b) => b[1] - a[1]);
    const top = ranked.slice(0, 4).map(([name, us]) => `${name} ${(us / 1000).toFixed(1)} ms`);
    const topCallers = ranked.length ? callersOf(task.selfNode.get(ranked[0][0])!) : [];
    if (task.us / 1000 > longMs) tasks.push({ atMs: round(task.startUs / 1000), ms: round(task.us / 1000), driftlensMs: round(task.oursUs / 1000), gcMs: round(task.gcUs / 1000), top, topCallers });
    if (task.oursUs > longestOurs.us) longestOurs = { us: task.oursUs, taskUs: task.us, top };
    task = undefined;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample's time is the delta to the next one (the profiler's own convention).
    const us = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i];
    const kind = kindOf(id);
    if (kind === '(idle)') {
      close();
      nowUs += us;
      continue;
    }
    task ??= { startUs: nowUs, us: 0, oursUs: 0, gcUs: 0, self: new Map(), selfNode: new Map() };
    task.us += us;
    const ours = oursOnStack(id);
    if (kind === '(garbage collector)') task.gcUs += us;
    else if (ours.length > 0) {
      task.oursUs += us;
      driftlensTotalUs += us;
      for (const name of new Set(ours.map(frameName))) driftlensInclusive.set(name, (driftlensInclusive.get(name) ?? 0) + us);
    }
    const name = `${ours.length > 0 ? '[DriftLens] ' : ''}${frameName(byId.get(id)!)}`;
    task.self.set(name, (task.self.get(name) ?? 0) + us);
    if (!task.selfNode.has(name)) task.selfNode.set(name, id);
    nowUs += us;
  }
  close();
  return {
    samplingUs: SAMPLING_US,
    windowMs: round(nowUs / 1000),
    longTasks: tasks,
    longMs,
    longestDriftLens: { ms: round(longestOurs.us / 1000), taskMs: round(longestOurs.taskUs / 1000), top: longestOurs.top },
    driftlensTotalMs: round(driftlensTotalUs / 1000),
    driftlensTop: [...driftlensInclusive].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([name, us]) => `${name} ${(us / 1000).toFixed(1)} ms`),
  };
}

/** A script as the CPU profile names it: the heap profile gives a CommonJS file's path, not its file URL. */
const asUrl = (script: string) => (path.isAbsolute(script) ? pathToFileURL(script).href : script);

/** Sampled allocation by whose code was on the stack (DriftLens's when any frame is in its bundles, as for CPU time). */
function summariseAllocation(head: HeapNode, isOurs: (url: string) => boolean): NonNullable<HostProfileSummary['allocated']> {
  let total = 0;
  let ours = 0;
  const bySite = new Map<string, number>();
  const oursBySite = new Map<string, number>();
  const add = (sites: Map<string, number>, name: string, bytes: number) => sites.set(name, (sites.get(name) ?? 0) + bytes);
  const walk = (node: HeapNode, oursAbove: boolean) => {
    const inOurs = oursAbove || isOurs(asUrl(node.callFrame.url));
    const name = frameName(node);
    total += node.selfSize;
    if (node.selfSize > 0) add(bySite, inOurs ? `[DriftLens] ${name}` : name, node.selfSize);
    if (inOurs) {
      ours += node.selfSize;
      if (node.selfSize > 0) add(oursBySite, name, node.selfSize);
    }
    for (const child of node.children) walk(child, inOurs);
  };
  walk(head, false);
  const mb = (bytes: number) => Math.round((bytes / 1048576) * 100) / 100;
  const top = (sites: Map<string, number>) => [...sites].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([name, bytes]) => `${name} ${mb(bytes)} MB`);
  return { totalMb: mb(total), driftlensMb: mb(ours), driftlensTop: top(oursBySite), top: top(bySite) };
}

const round = (n: number) => Math.round(n * 10) / 10;
