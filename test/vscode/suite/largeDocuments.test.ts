import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { largeConfigDocument } from '../../support/largeConfig';
import { workspaceFile } from './editing';
import { startHostProfile } from './hostProfile';
import { waitFor } from './waitFor';

const ROOT = path.resolve(__dirname, '../../../..');
/** Where the measurement goes for the benchmark report (BENCHMARKS.md takes its numbers from a quiet run). */
const RESULT_FILE = path.join(ROOT, 'test-results', 'extensionHostLag.json');
/** What is typed in the middle of the document, one character per edit. */
const TYPED = '\n    job.typed: 42';
/** Between two keystrokes: the pace of a quick typist (the host must stay free while analyses run). */
const KEYSTROKE_INTERVAL_MS = 120;

/** DriftLens's code in the host: its bundles (the shell and the features), wherever the extension is installed. */
const DIST_URL = pathToFileURL(path.join(ROOT, 'dist') + path.sep).href;
const isDriftLens = (url: string) => url.startsWith(DIST_URL);

const ms = (ns: number) => Math.round(ns / 1e4) / 100;
const round = (n: number) => Math.round(n * 10) / 10;

/** The monotonic clock in ms: the one V8's CPU profiles are stamped with (microseconds there). */
const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * This thread's time on a CPU and waiting for one while it was ready to run (ms, the kernel's
 * /proc/thread-self/schedstat), and its major page faults so far (/proc/thread-self/stat, field 12).
 * On a shared machine a task can take 150 ms of wall time of which 120 ms went to other processes:
 * that is the machine, not the host. A stall with neither much CPU nor much waiting was blocked, and
 * major faults say on what (this machine's kernel pages out memory it finds cold, and touching it
 * again reads it back from disk). Undefined where the kernel does not say (not Linux).
 */
function threadTimes(): { onCpuMs: number; waitMs: number; majorFaults: number } | undefined {
  try {
    const [onCpu, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ');
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // The fields after the command name (which may hold spaces), from field 3 on: majflt is field 12.
    const majorFaults = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[9]);
    return { onCpuMs: Number(onCpu) / 1e6, waitMs: Number(wait) / 1e6, majorFaults };
  } catch {
    return undefined;
  }
}

/**
 * Records, while it runs, the event-loop delay (monitorEventLoopDelay at 10 ms), each stall over
 * 50 ms and each garbage collection, so that a stall can be told apart from a collection or from a
 * machine too busy to schedule the host: each stall also says how long of it the host waited for a
 * CPU (`cpuWaitMs`), how long it ran on one (`onCpuMs`) and its major page faults, and
 * `cpuWaitBetween` says how long the host waited for a CPU over any stretch of the window.
 */
function watchHost() {
  const started = performance.now();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const stalls: { atMs: number; ms: number; cpuWaitMs?: number; onCpuMs?: number; majorFaults?: number }[] = [];
  // Every tick of the sampler: when (monotonic ms) and the host's run-queue wait so far.
  const ticks: { at: number; waited: number }[] = [];
  let last = performance.now();
  let lastTimes = threadTimes();
  let ticked: () => void = () => {};
  const firstTick = new Promise<void>((resolve) => (ticked = resolve));
  const sampler = setInterval(() => {
    ticked();
    const now = performance.now();
    const times = threadTimes();
    if (times) ticks.push({ at: monotonicMs(), waited: times.waitMs });
    // A stall is how late the timer ran; the wait is over the whole interval, the timer's own 10 ms
    // included, so it is capped at the stall: a stall the machine caused entirely has no length of its own.
    const late = round(now - last - 10);
    if (late > 50) {
      const split = times && lastTimes ? { cpuWaitMs: Math.min(late, round(times.waitMs - lastTimes.waitMs)), onCpuMs: round(times.onCpuMs - lastTimes.onCpuMs), majorFaults: times.majorFaults - lastTimes.majorFaults } : {};
      stalls.push({ atMs: round(last - started), ms: late, ...split });
    }
    last = now;
    lastTimes = times;
  }, 10);
  const gcs: { atMs: number; ms: number; kind: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) gcs.push({ atMs: round(e.startTime - started), ms: round(e.duration), kind: e.detail?.kind ?? 0 });
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    /** Resolves at the first tick: a task before it has no tick before it to measure its wait from. */
    firstTick,
    /** The host's run-queue wait from the last tick at or before `from` to the first at or after `to` (monotonic ms): the ticks around a task. */
    cpuWaitBetween(from: number, to: number): number | undefined {
      const before = ticks.filter((t) => t.at <= from).pop();
      const after = ticks.find((t) => t.at >= to);
      return before && after ? round(after.waited - before.waited) : undefined;
    },
    stop() {
      lag.disable();
      clearInterval(sampler);
      observer.disconnect();
      return {
        eventLoopDelayMs: { max: ms(lag.max), p99: ms(lag.percentile(99)), p50: ms(lag.percentile(50)), mean: ms(lag.mean), samples: lag.count },
        stallsOver50Ms: stalls,
        gcOver20Ms: gcs.filter((g) => g.ms > 20),
        gcTotalMs: round(gcs.reduce((sum, g) => sum + g.ms, 0)),
      };
    },
  };
}

function cliHashOf(text: string, section: string): string {
  const dir = path.join(os.tmpdir(), `dl-large-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'cfg.system.large.yaml');
  writeFileSync(file, text);
  const out = execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'hash', file, '--json'], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, encoding: 'utf8', maxBuffer: 64 << 20 });
  rmSync(dir, { recursive: true, force: true });
  return (JSON.parse(out) as { sections: Record<string, { hash: string }> }).sections[section].hash;
}

function diagnosticsOf(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'DriftLens');
}

async function lensTitles(uri: vscode.Uri): Promise<string[]> {
  const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 10)) ?? [];
  return lenses.map((l) => l.command?.title ?? '');
}

/**
 * VS Code's built-in merge-conflict extension copies the whole text of a visible document on every
 * change (MergeConflictParser.containsConflict calls getText()): on 8 MB that alone stalls the host
 * for most of a second per keystroke here, whatever DriftLens does. It is switched off while
 * DriftLens is measured; the README says so and how to do the same.
 */
const MERGE_CONFLICT_SCANS = ['codeLens.enabled', 'decorators.enabled'];

/**
 * A full garbage collection before each measured window, so that neither window pays for the
 * garbage of what came before it (opening an 8 MB document, the first analysis, the getText
 * timings): whichever window came first used to get the major collection. Both start clean.
 */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

suite('Large documents', () => {
  const folder = 'large-documents';
  suiteSetup(async () => {
    for (const setting of MERGE_CONFLICT_SCANS) await vscode.workspace.getConfiguration('merge-conflict').update(setting, false, vscode.ConfigurationTarget.Workspace);
    // Link detection: once any extension registers a file system provider (the built-in git
    // extension does, for `git:`), the extension host scans every document for links to its scheme
    // (computeLinks, over every line) each time the editor asks, which is after every change: 50 to
    // 120 ms on 8 MB here, in the ignored-file control as much. Off while measuring, like the above.
    await vscode.workspace.getConfiguration('editor').update('links', false, vscode.ConfigurationTarget.Workspace);
    // Port forwarding's process scan: an extension host in a remote (code-server, where these tests
    // run, or Remote-SSH; not a desktop window) looks for new listening ports every few seconds,
    // reading /proc and spawning commands (findCandidatePorts). Spawning from a host that holds an
    // 8 MB document took 20 to 130 ms of its thread here, on a schedule of its own, typing or not.
    // Scanning terminal output instead ('output') stops it; `remote.autoForwardPorts` alone does not
    // while a tunnel provider is registered, as in code-server.
    await vscode.workspace.getConfiguration('remote').update('autoForwardPortsSource', 'output', vscode.ConfigurationTarget.Workspace);
  });
  suiteTeardown(async () => {
    for (const setting of MERGE_CONFLICT_SCANS) await vscode.workspace.getConfiguration('merge-conflict').update(setting, undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.workspace.getConfiguration('editor').update('links', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.workspace.getConfiguration('remote').update('autoForwardPortsSource', undefined, vscode.ConfigurationTarget.Workspace);
    rmSync(workspaceFile(folder).fsPath, { recursive: true, force: true });
  });

  test('typing in an 8 MB config document never blocks the extension host; diagnostics and lenses follow the typed version', async function () {
    this.timeout(300_000);
    // Valid but for one key in timeouts that replicas ignore, so the first analysis shows as a warning.
    const generated = largeConfigDocument(8_000_000);
    const text = generated.text + '  bogus_timeouts_key: 1\n';
    const uri = workspaceFile(`${folder}/cfg.system.large.yaml`);
    mkdirSync(path.dirname(uri.fsPath), { recursive: true });
    writeFileSync(uri.fsPath, text);

    const loadAtStart = os.loadavg().map((l) => l.toFixed(2)).join(' ');
    const opened = performance.now();
    const document = await vscode.workspace.openTextDocument(uri);
    let editor = await vscode.window.showTextDocument(document);
    await waitFor('the first analysis (the timeouts warning)', () => diagnosticsOf(uri).some((d) => /bogus_timeouts_key/.test(d.message)), [vscode.languages.onDidChangeDiagnostics], 120_000);
    const firstAnalysisMs = performance.now() - opened;
    const before = await lensTitles(uri);
    assert.ok(before.some((t) => t.includes('pools sha256')), `the pools lens shows a hash: ${before.join(' | ')}`);

    const at = text.indexOf(generated.editedTopic) + generated.editedTopic.length;
    const typedLine = document.positionAt(at).line + 1;
    // The machine's own noise first: the same watch over an idle host with the document open.
    mkdirSync(path.join(ROOT, "test-results"), { recursive: true });
    const idle = watchHost();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const idleResult = idle.stop();
    collectGarbage();
    // The profiler first: starting it pauses the host, which the watch would count as a stall.
    const profile = await startHostProfile(isDriftLens);
    const watch = watchHost();
    await watch.firstTick;
    const typingStarted = performance.now();
    for (let i = 0; i < TYPED.length; i++) {
      assert.ok(await editor.edit((b) => b.insert(document.positionAt(at + i), TYPED[i])));
      await new Promise((resolve) => setTimeout(resolve, KEYSTROKE_INTERVAL_MS));
    }
    const typingMs = performance.now() - typingStarted;
    const lastKey = performance.now();
    // The typed version's own error: the value 42 (not 4, an earlier version) on the typed line.
    const typedError = await waitFor(
      'the error on the typed line, for the typed version',
      () => diagnosticsOf(uri).find((d) => d.severity === vscode.DiagnosticSeverity.Error && d.range.start.line === typedLine && d.range.start.character === 15 && d.range.end.character === 17),
      [vscode.languages.onDidChangeDiagnostics],
      120_000,
    );
    const settledMs = performance.now() - lastKey;
    const typing = watch.stop();
    const typingProfile = await profile.stop(watch.cpuWaitBetween);
    assert.equal(document.lineAt(typedLine).text, TYPED.slice(1));
    const after = await lensTitles(uri);
    assert.ok(after.some((t) => /pools: no hash/.test(t)), `the pools lens says the typed version has no hash: ${after.join(' | ')}`);

    // What the worker spares the host on every edit: one copy of the whole text.
    const getTextMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      document.getText();
      getTextMs.push(round(performance.now() - started));
      // An edit between two copies, so that no copy is one the host kept from the last call.
      assert.ok(await editor.edit((b) => b.insert(document.positionAt(at), ' ')));
      assert.ok(await editor.edit((b) => b.delete(new vscode.Range(document.positionAt(at), document.positionAt(at + 1)))));
    }

    // VS Code's own share, for comparison: the same keystrokes in the same text in a file DriftLens
    // ignores (a `# driftlens: none` modeline), watched for as long as the DriftLens run lasted.
    const ignoredUri = workspaceFile(`${folder}/notes.large.yaml`);
    const modeline = '# driftlens: none\n';
    writeFileSync(ignoredUri.fsPath, modeline + text);
    const ignoredEditor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(ignoredUri));
    const ignoredAt = at + modeline.length;
    collectGarbage();
    const baselineProfile = await startHostProfile(isDriftLens);
    const baselineWatch = watchHost();
    await baselineWatch.firstTick;
    const baselineStarted = performance.now();
    for (let i = 0; i < TYPED.length; i++) {
      assert.ok(await ignoredEditor.edit((b) => b.insert(ignoredEditor.document.positionAt(ignoredAt + i), TYPED[i])));
      await new Promise((resolve) => setTimeout(resolve, KEYSTROKE_INTERVAL_MS));
    }
    // A measuring window of the same length (not a wait for an event: there is none to wait for).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, typingMs + settledMs - (performance.now() - baselineStarted))));
    const baseline = { ...baselineWatch.stop(), windowMs: Math.round(performance.now() - baselineStarted), profile: await baselineProfile.stop(baselineWatch.cpuWaitBetween) };
    assert.deepEqual(diagnosticsOf(ignoredUri), [], 'DriftLens leaves the ignored copy alone');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    // The first editor closed when the ignored file took its place: edit through a new one.
    editor = await vscode.window.showTextDocument(document);

    const result = {
      documentChars: text.length,
      keystrokes: TYPED.length,
      keystrokeIntervalMs: KEYSTROKE_INTERVAL_MS,
      resolutionMs: 10,
      mergeConflictScans: 'off (merge-conflict.codeLens.enabled, merge-conflict.decorators.enabled)',
      linkDetection: 'off (editor.links)',
      portScan: "off (remote.autoForwardPortsSource: 'output')",
      fullGcBeforeEachWindow: true,
      // monitorEventLoopDelay: how late the host ran a 10 ms timer, from the first keystroke to the typed version's diagnostics.
      ...typing,
      // Whose code ran in each long task (a CPU profile of the host over the same window).
      profile: typingProfile,
      idle: idleResult,
      // The same typing where DriftLens does nothing: what VS Code's own handling of the edits costs the host.
      ignoredByDriftLens: baseline,
      typingMs: Math.round(typingMs),
      lastKeystrokeToDiagnosticsMs: Math.round(settledMs),
      openToFirstDiagnosticsMs: Math.round(firstAnalysisMs),
      getTextMs,
      typedError: typedError.message,
    };
    const cpus = os.cpus();
    const saved = {
      bench: 'extensionHostLag',
      command: 'npm run bench:typing',
      date: new Date().toISOString(),
      machine: `${cpus[0]?.model ?? 'cpu'}, ${cpus.length} cores, Node ${process.version} (extension host), ${process.platform} ${process.arch}`,
      // The shape of bench/results/*.json (bench/results.ts SavedRun), so bench/report.ts reads it as it is.
      load: { start: loadAtStart, end: os.loadavg().map((l) => l.toFixed(2)).join(' ') },
      wallSeconds: Math.round((performance.now() - opened) / 100) / 10,
      results: result,
    };
    mkdirSync(path.dirname(RESULT_FILE), { recursive: true });
    writeFileSync(RESULT_FILE, JSON.stringify(saved, null, 2) + '\n');
    console.log(`      extension host event-loop delay while typing in ${(text.length / 1e6).toFixed(1)} MB: max ${result.eventLoopDelayMs.max} ms, p99 ${result.eventLoopDelayMs.p99} ms (${RESULT_FILE})`);
    // Generous bounds (the machine is shared; the numbers go to BENCHMARKS.md): analysing on the host
    // blocked it for seconds at every pause in typing, so that even the 99th percentile was over a second.
    assert.ok(result.eventLoopDelayMs.p99 < 300, `the host was blocked for ${result.eventLoopDelayMs.p99} ms at the 99th percentile while typing`);
    assert.ok(result.eventLoopDelayMs.max < 3000, `the host was blocked for ${result.eventLoopDelayMs.max} ms while typing`);

    // A command acts on the exact current version, before the debounce or the worker ran: make pools valid again and copy at once.
    assert.ok(await editor.edit((b) => b.replace(typedError.range, 'pool-typed')));
    await vscode.env.clipboard.writeText('');
    await vscode.commands.executeCommand('driftlens.copySectionHash', uri, 'pools');
    assert.equal(await vscode.env.clipboard.readText(), cliHashOf(document.getText(), 'pools'));
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
