import { Session } from 'node:inspector';

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
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
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
  await post(session, 'Profiler.start');
  return {
    async stop(cpuWaitBetween?: CpuWaitBetween) {
      const { profile } = await post<{ profile: Profile }>(session, 'Profiler.stop');
      await post(session, 'Profiler.disable');
      session.disconnect();
      const summary = summarise(profile, isOurs, longMs);
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

const frameName = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop() || ''}:${n.callFrame.lineNumber + 1}`.trim();

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

const round = (n: number) => Math.round(n * 10) / 10;
