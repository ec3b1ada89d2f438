/**
 * Activation in the real workbench (code-server + Chromium, the in-host test setup), as VS Code
 * itself measures it: the production build of the extension (what the VSIX ships) in a workspace
 * with one plain YAML file and no DriftLens document. Opening that file activates DriftLens
 * (`onLanguage:yaml`): the case every YAML user meets. A fresh workbench per run; per run, VS Code's
 * activationTimes (the Startup Performance view, Running Extensions shows load + call) and the
 * extension bundles the extension host evaluated.
 *
 *   npm run bench:activation    (the real workbench: take /tmp/driftlens-vscode.lock on a shared machine)
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { endRun, ROOT, runLine, saveRun, type SavedRun } from './results';
import { loadavg, machine, median, ms } from './stats';

const RUNS = Number(process.env.DRIFTLENS_BENCH_ACTIVATION_RUNS) || 5;
const TARGET_MS = 50;
const BUNDLE_LIMIT = 1_000_000;

export interface ActivationRun {
  activeBefore: boolean;
  codeLoadingTime: number;
  activateCallTime: number;
  activateResolvedTime: number;
  activationEvent: string;
  /** The extension host's CPU time (all its threads) from opening the file to the end of activation (and the first lens, for a DriftLens document), ms. */
  hostCpuMs: number;
  /** For a DriftLens document: from the open to its section hash lenses, ms (the features load in between). */
  firstLensMs?: number;
  bundles: string[];
}

export interface ActivationResults {
  vscode: string;
  /** Production build: dist/extension.js and each dist/vendor bundle, bytes. */
  bundleBytes: Record<string, number>;
  runs: ActivationRun[];
  /**
   * The same runs for an extension that does nothing (same id, same activation event, an empty
   * activate()): VS Code's own floor for activating an extension in this workbench on this machine.
   */
  baselineRuns?: ActivationRun[];
  /**
   * A workspace whose one file is a Cordum config document, opened: activation (by the workspace's
   * contents, before the open) loads the shell only; the open loads the features and analyses it.
   */
  documentRuns?: ActivationRun[];
}

/** The extension as the VSIX has it: package.json, schemas, media, grammar, and a production build. */
function productionExtension(): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'dl-act-ext-'));
  for (const entry of ['package.json', 'schemas', 'media', 'syntaxes']) cpSync(path.join(ROOT, entry), path.join(folder, entry), { recursive: true });
  execFileSync(process.execPath, ['esbuild.js', '--production', `--outdir=${path.join(folder, 'dist')}`], { cwd: ROOT, stdio: 'ignore' });
  return folder;
}

/** An extension that does nothing, with DriftLens's id and activation event: what activation costs at the least. */
function emptyExtension(): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'dl-act-empty-'));
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; publisher: string; version: string; engines: object };
  const { name, publisher, version, engines } = manifest;
  writeFileSync(path.join(folder, 'package.json'), JSON.stringify({ name, publisher, version, engines, main: './dist/extension.js', activationEvents: ['onLanguage:yaml'] }));
  mkdirSync(path.join(folder, 'dist'));
  writeFileSync(path.join(folder, 'dist', 'extension.js'), 'exports.activate = () => {};\n');
  return folder;
}

function bundleSizes(extension: string): Record<string, number> {
  const dist = path.join(extension, 'dist');
  const sizes: Record<string, number> = { 'dist/extension.js': statSync(path.join(dist, 'extension.js')).size, 'dist/features.js': statSync(path.join(dist, 'features.js')).size };
  for (const name of readdirSync(path.join(dist, 'vendor')).filter((n) => n.endsWith('.js')).sort()) sizes[`dist/vendor/${name}`] = statSync(path.join(dist, 'vendor', name)).size;
  return sizes;
}

async function oneRun(extension: string, workspace: string, artifacts: string, open?: string): Promise<ActivationRun> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startWorkbench } = require(path.join(ROOT, 'test/vscode/launcher/workbench.js')) as {
    startWorkbench(o: object): Promise<{ exitPromise: Promise<{ code: number }>; close(): Promise<void> }>;
  };
  const report = path.join(artifacts, 'activation.json');
  rmSync(report, { force: true });
  const wb = await startWorkbench({
    workspaceFolder: workspace,
    extensionDevelopmentPath: extension,
    extensionTestsPath: path.join(ROOT, 'out/bench/activationProbe.js'),
    extensionEnvironment: { DRIFTLENS_TEST_REPORT: report, ...(open ? { DRIFTLENS_BENCH_OPEN: open } : {}) },
    artifactsDir: artifacts,
    startTimeoutMs: 120_000,
  });
  try {
    const exit = await wb.exitPromise;
    if (exit.code !== 0) throw new Error(`the activation probe failed (exit ${exit.code}; logs in ${artifacts})`);
  } finally {
    await wb.close();
  }
  return JSON.parse(readFileSync(report, 'utf8')) as ActivationRun;
}

async function main(): Promise<void> {
  const started = performance.now();
  const machineLine = machine();
  const loadBefore = loadavg();
  console.log(`Machine: ${machineLine}\nLoad average at start (1/5/15 min): ${loadBefore}`);
  const extension = productionExtension();
  const workspace = mkdtempSync(path.join(tmpdir(), 'dl-act-ws-'));
  writeFileSync(path.join(workspace, 'notes.yaml'), '# Not a DriftLens document.\nname: notes\nitems: [1, 2]\n');
  const documentWorkspace = mkdtempSync(path.join(tmpdir(), 'dl-act-doc-'));
  cpSync(path.join(ROOT, 'test/fixtures/config/cfg.system.default.yaml'), path.join(documentWorkspace, 'cfg.system.default.yaml'));
  const artifacts = path.join(ROOT, 'test-results', 'bench-activation', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(artifacts, { recursive: true });
  const results: ActivationResults = { vscode: codeServerVersion(), bundleBytes: bundleSizes(extension), runs: [] };
  try {
    for (let i = 0; i < RUNS; i++) {
      const run = await oneRun(extension, workspace, path.join(artifacts, `run-${i + 1}`));
      console.log(`  run ${i + 1}: load ${run.codeLoadingTime} ms, call ${run.activateCallTime} ms, resolved ${run.activateResolvedTime} ms (${run.activationEvent}); bundles ${run.bundles.join(', ')}`);
      results.runs.push(run);
    }
    results.documentRuns = [];
    for (let i = 0; i < RUNS; i++) {
      const run = await oneRun(extension, documentWorkspace, path.join(artifacts, `document-${i + 1}`), 'cfg.system.default.yaml');
      console.log(`  config document, run ${i + 1}: load ${run.codeLoadingTime} ms, call ${run.activateCallTime} ms (${run.activationEvent}); first lens ${ms(run.firstLensMs ?? NaN)}; bundles ${run.bundles.join(', ')}`);
      results.documentRuns.push(run);
    }
    const empty = emptyExtension();
    results.baselineRuns = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        const run = await oneRun(empty, workspace, path.join(artifacts, `empty-${i + 1}`));
        console.log(`  empty extension, run ${i + 1}: load ${run.codeLoadingTime} ms, call ${run.activateCallTime} ms`);
        results.baselineRuns.push(run);
      }
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  } finally {
    rmSync(extension, { recursive: true, force: true });
    rmSync(workspace, { recursive: true, force: true });
    rmSync(documentWorkspace, { recursive: true, force: true });
  }
  const saved = saveRun(endRun<ActivationResults>('activation', 'npm run bench:activation', { machineLine, loadBefore }, started, results));
  for (const [id, text] of Object.entries(renderActivation(saved))) console.log(`\n<!-- ${id} -->\n${text}`);
}

/** code-server's and its VS Code's versions, from the install scripts/ensure-workbench.sh made. */
export function codeServerVersion(): string {
  const launcher = execFileSync('bash', [path.join(ROOT, 'scripts/ensure-workbench.sh')], { encoding: 'utf8' }).trim().split('\n').pop() ?? '';
  const installed = /exec "([^"]+)\/node_modules\/\.bin\/code-server"/.exec(readFileSync(launcher, 'utf8'))?.[1];
  if (!installed) return 'code-server';
  const version = (file: string) => (JSON.parse(readFileSync(path.join(installed, 'node_modules/code-server', file), 'utf8')) as { version: string }).version;
  return `code-server ${version('package.json')} (VS Code ${version('lib/vscode/package.json')})`;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

/** The sections of BENCHMARKS.md generated from a saved run (see bench/report.ts). */
export function renderActivation(run: SavedRun<ActivationResults>): Record<string, string> {
  const { runs, bundleBytes } = run.results;
  const total = (r: ActivationRun) => r.codeLoadingTime + r.activateCallTime;
  const lines: string[] = [runLine(run), `Workbench: ${run.results.vscode}.`, ''];
  // Runs recorded before the probe measured the host's CPU time have no such column.
  const cpu = runs.every((r) => typeof r.hostCpuMs === 'number');
  lines.push(`| run | activation event | load code | call activate | load + call | ${cpu ? 'host CPU, open to activated | ' : ''}bundles evaluated |`);
  lines.push(`|---|---|---|---|---|${cpu ? '---|' : ''}---|`);
  runs.forEach((r, i) =>
    lines.push(`| ${i + 1} | \`${r.activationEvent}\` | ${r.codeLoadingTime} ms | ${r.activateCallTime} ms | ${total(r)} ms | ${cpu ? `${ms(r.hostCpuMs)} | ` : ''}${r.bundles.map((b) => `\`${b}\``).join(', ')} |`),
  );
  lines.push('');
  lines.push(`Production bundles: ${Object.entries(bundleBytes).map(([file, bytes]) => `\`${file}\` ${kb(bytes)}`).join(', ')}.`);

  const baseline = run.results.baselineRuns ?? [];
  if (baseline.length) {
    lines.push('');
    lines.push(`For comparison, an extension that does nothing (same id, same activation event, an empty \`activate()\`), ${baseline.length} fresh workbenches in the same run: load + call ${baseline.map((r) => `${total(r)} ms`).join(', ')}, median ${ms(median(baseline.map(total)))}.`);
  }

  const documentRuns = run.results.documentRuns ?? [];
  if (documentRuns.length) {
    lines.push('');
    lines.push(`A workspace with a Cordum config document, ${documentRuns.length} fresh workbenches in the same run, opening \`cfg.system.default.yaml\`: activation, then the open loads the features and shows the section hash lenses.`);
    lines.push('');
    lines.push('| run | activation event | load + call | open to first lens | host CPU, open to lens | bundles evaluated |');
    lines.push('|---|---|---|---|---|---|');
    documentRuns.forEach((r, i) => lines.push(`| ${i + 1} | \`${r.activationEvent}\` | ${total(r)} ms | ${ms(r.firstLensMs ?? NaN)} | ${ms(r.hostCpuMs)} | ${r.bundles.map((b) => `\`${b}\``).join(', ')} |`));
  }

  const medianTotal = median(runs.map(total));
  const extensionBytes = bundleBytes['dist/extension.js'];
  const shippedBytes = extensionBytes + (bundleBytes['dist/features.js'] ?? 0);
  const onlyExtension = runs.every((r) => r.bundles.length === 1 && r.bundles[0] === 'dist/extension.js');
  const events = [...new Set(runs.map((r) => r.activationEvent))];
  const targets = [
    `- **Activation under ${TARGET_MS} ms: ${medianTotal < TARGET_MS ? 'met' : 'not met'}.** VS Code's load + call time, median of ${runs.length} fresh workbenches: ${ms(medianTotal)} ` +
      `(load ${ms(median(runs.map((r) => r.codeLoadingTime)))}, call ${ms(median(runs.map((r) => r.activateCallTime)))}; activated by ${events.map((e) => `\`${e}\``).join(', ')}).` +
      (baseline.length ? ` An extension that does nothing took ${ms(median(baseline.map(total)))} in the same run: VS Code's own floor here.` : '') +
      (documentRuns.length ? ` With a config document opened, activation median ${ms(median(documentRuns.map(total)))} and the open to its first lens (loading the features included) median ${ms(median(documentRuns.map((r) => r.firstLensMs ?? NaN)))}.` : '') +
      (cpu ? ` The extension host's CPU time from the open to the end of activation, everything the host did for the open (other extensions activated by the same event included), so an upper bound on DriftLens's share: median ${ms(median(runs.map((r) => r.hostCpuMs)))}.` : ''),
    bundleBytes['dist/features.js'] === undefined
      ? `- **Production bundle under 1 MB: ${extensionBytes < BUNDLE_LIMIT ? 'met' : 'not met'}.** \`dist/extension.js\` is ${kb(extensionBytes)}; the dependencies it loads on first use add ${kb(Object.values(bundleBytes).reduce((a, b) => a + b, 0) - extensionBytes)} in \`dist/vendor\`.`
      : `- **Production bundle under 1 MB: ${shippedBytes < BUNDLE_LIMIT ? 'met' : 'not met'}.** The activation shell \`dist/extension.js\` is ${kb(extensionBytes)} and the features it loads on first use, \`dist/features.js\`, ${kb(bundleBytes['dist/features.js'])} (${kb(shippedBytes)} together); the dependencies they load on first use add ${kb(Object.values(bundleBytes).reduce((a, b) => a + b, 0) - shippedBytes)} in \`dist/vendor\`.`,
    `- **Nothing heavy evaluated for a YAML file that is not a DriftLens document: ${onlyExtension ? 'met' : 'not met'}.** ${onlyExtension ? `In every run the extension host had evaluated \`dist/extension.js\` only.` : `Evaluated: ${[...new Set(runs.flatMap((r) => r.bundles))].join(', ')}.`}`,
  ];
  return { 'activation-table': lines.join('\n'), 'activation-targets': targets.join('\n') };
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
