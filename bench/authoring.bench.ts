/**
 * Authoring benchmark: what one keystroke costs once the debounce fires.
 *
 * For Cordum-shaped config documents of about 50 KB, 256 KB, 1 MB and 4 MB it times
 *   - DriftLens `analyzeDocument(text, 'yaml', 'config')` (parse with spans, ajv validation, section hashes),
 *   - yaml-language-server 2.0 `doValidation` of the same text against the same schema files,
 *   - and, for reference, the `yaml` package's `parseDocument` and `js-yaml`'s `load` (parsers only).
 *
 * Every timed run sees a different text (one topic's pool name carries the run number), so no
 * cache keyed by content or by document version can answer. Each (tool, size) pair runs in a fresh
 * child process, so one tool's heap does not slow the other's garbage collection and the peak RSS
 * growth can be attributed.
 *
 * Run: `npm run bench` (compiles, then `node out/bench/authoring.bench.js`).
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { parseDocument } from 'yaml';
import { analyzeDocument } from '../src/core/analysis';
import { endRun, runLine, saveRun, type SavedRun } from './results';
import { loadavg, machine, MB, median, ms, quantile } from './stats';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'cordum');
const SCHEMAS = path.join(ROOT, 'schemas');

// ---------------------------------------------------------------------------------------------
// Documents

interface SizeSpec {
  label: string;
  target: number;
}

const SIZES: SizeSpec[] = [
  { label: '50 KB', target: 50 * 1024 },
  { label: '256 KB', target: 256 * 1024 },
  { label: '1 MB', target: 1 * MB },
  { label: '4 MB', target: 4 * MB },
];

const indent = (text: string, by: string): string =>
  text
    .replace(/\s+$/, '')
    .split('\n')
    .map((line) => (line.length ? by + line : line))
    .join('\n');

/**
 * The real Cordum pools.yaml and timeouts.yaml as the `pools` and `timeouts` sections of one data
 * map (no envelope), the pools section scaled up with `job.team-N.process: pool-N` topics and
 * `pool-N: {requires: []}` pools. `make(run)` returns the document whose middle topic routes to
 * `pool-M-rRUN`, a flat string ready to hand over.
 */
class DocumentFactory {
  readonly teams: number;
  private readonly before: string;
  private readonly after: string;
  private readonly editedTopic: string;

  constructor(target: number) {
    const pools = readFileSync(path.join(FIXTURES, 'pools.yaml'), 'utf8');
    const timeouts = readFileSync(path.join(FIXTURES, 'timeouts.yaml'), 'utf8');
    const [topicsPart, poolsPart] = pools.split(/^pools:\n/m);
    if (!topicsPart.startsWith('topics:\n') || poolsPart === undefined) throw new Error('unexpected pools.yaml layout');
    const realTopics = indent(topicsPart.slice('topics:\n'.length), '  ');
    const realPools = indent(poolsPart, '  ');
    const timeoutsSection = 'timeouts:\n' + indent(timeouts, '  ') + '\n';
    const fixed = `pools:\n  topics:\n${realTopics}\n  pools:\n${realPools}\n${timeoutsSection}`.length;
    const perTeam = (n: number) => `    job.team-${n}.process: pool-${n}\n`.length + `    pool-${n}:\n      requires: []\n`.length;
    let teams = 0;
    let size = fixed;
    while (size < target) size += perTeam(teams++);
    this.teams = teams;
    const mid = teams >> 1;
    this.editedTopic = `    job.team-${mid}.process: pool-${mid}`;
    const topicLines: string[] = [];
    const poolLines: string[] = [];
    for (let n = 0; n < teams; n++) {
      topicLines.push(`    job.team-${n}.process: pool-${n}\n`);
      poolLines.push(`    pool-${n}:\n      requires: []\n`);
    }
    this.before = `pools:\n  topics:\n${realTopics}\n` + topicLines.slice(0, mid).join('');
    this.after =
      '\n' + topicLines.slice(mid + 1).join('') + `  pools:\n${realPools}\n` + poolLines.join('') + timeoutsSection;
  }

  make(run: number): string {
    return flat(this.before + this.editedTopic + (run < 0 ? '' : `-r${run}`) + this.after);
  }

  /** The same document with three schema errors (the sanity check that a validator validates). */
  broken(): string {
    return this.make(-1)
      .replace('  pools:\n    default:\n      requires: []\n', '  pools:\n    default:\n      requires: []\n      bogus: 1\n')
      .replace('scan_interval_seconds: 30', 'scan_interval_seconds: -30')
      .replace('job.default: default', 'job.default: ""');
  }
}

/** A concatenated string is a rope in V8; the editor hands over flat strings, so flatten before timing. */
function flat(s: string): string {
  s.charCodeAt(s.length >> 1);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Tools

type ToolName = 'driftlens' | 'yls' | 'yaml' | 'jsyaml';
const TOOLS: ToolName[] = ['driftlens', 'yls', 'yaml', 'jsyaml'];

interface Plan {
  warmup: number;
  runs: number;
}

// Warm-up and timed runs per size (50 KB, 256 KB, 1 MB, 4 MB), sized to keep the bench near 3 minutes
// on a 2-core machine. yaml-language-server also runs a full-size sanity check (a broken document)
// before its runs, which warms it up as well, and is skipped at a size where it would take too long.
const PLANS: Record<ToolName, Plan[]> = {
  driftlens: [
    { warmup: 20, runs: 30 },
    { warmup: 8, runs: 20 },
    { warmup: 3, runs: 11 },
    { warmup: 2, runs: 7 },
  ],
  yls: [
    { warmup: 2, runs: 10 },
    { warmup: 1, runs: 5 },
    { warmup: 0, runs: 3 },
    { warmup: 0, runs: 2 },
  ],
  yaml: [
    { warmup: 3, runs: 15 },
    { warmup: 2, runs: 9 },
    { warmup: 1, runs: 5 },
    { warmup: 1, runs: 2 },
  ],
  jsyaml: [
    { warmup: 5, runs: 30 },
    { warmup: 3, runs: 20 },
    { warmup: 2, runs: 11 },
    { warmup: 1, runs: 7 },
  ],
};

/** yaml-language-server is not run at a size where one validation is expected to take longer than this. */
const YLS_RUN_CAP_MS = 20_000;

export interface Measurement {
  tool: ToolName;
  size: number;
  bytes: number;
  /** Wall time of each timed run, ms. */
  times: number[];
  /** CPU time (user + system, all threads of the process) of each timed run, ms. */
  cpu: number[];
  /** Growth of the child's peak RSS over its RSS just before the tool first ran, in bytes. */
  peakRssDelta: number;
  notes: string[];
  skipped?: string;
}

interface YlsDiagnostic {
  message: string;
  range: { start: { line: number } };
}
interface YlsService {
  configure(settings: unknown): void;
  doValidation(document: TextDocument, isKubernetes: boolean): Promise<YlsDiagnostic[]>;
}

// With Node16 module settings TypeScript keeps this a real dynamic import(), which
// yaml-language-server (an ES module only) needs from this CommonJS file.
async function loadYamlLanguageService(): Promise<YlsService> {
  const mod = (await import('yaml-language-server')) as unknown as {
    getLanguageService(params: unknown): YlsService;
  };
  const service = mod.getLanguageService({
    // The schema files on disk, as Red Hat's extension reads them through `yamlValidation`:
    // config-document.schema.json refers to pools.schema.json and timeouts.schema.json.
    schemaRequestService: async (uri: string) => readFileSync(fileURLToPath(uri), 'utf8'),
    workspaceContext: { resolveRelativePath: (relative: string, resource: string) => new URL(relative, resource).href },
  });
  service.configure({
    validate: true,
    hover: false,
    completion: false,
    format: false,
    schemas: [{ uri: pathToFileURL(path.join(SCHEMAS, 'config-document.schema.json')).href, fileMatch: ['*'] }],
  });
  return service;
}

/** The three errors the broken document has, and where (1-based line), to check a tool reports them. */
function expectedErrorLines(broken: string): number[] {
  const lineOf = (needle: string) => broken.slice(0, broken.indexOf(needle)).split('\n').length;
  return [lineOf('job.default: ""'), lineOf('bogus: 1'), lineOf('scan_interval_seconds: -30')];
}

async function measure(tool: ToolName, sizeIndex: number): Promise<Measurement> {
  const spec = SIZES[sizeIndex];
  const factory = new DocumentFactory(spec.target);
  const plan = PLANS[tool][sizeIndex];
  const notes: string[] = [];
  // Every text is built before anything is timed; each run (warm-ups included) sees a new text.
  const texts: string[] = [];
  for (let i = 0; i < plan.warmup + plan.runs; i++) texts.push(factory.make(i));
  const broken = factory.broken();
  const result: Measurement = { tool, size: sizeIndex, bytes: Buffer.byteLength(texts[0]), times: [], cpu: [], peakRssDelta: 0, notes };
  const rssBefore = process.memoryUsage().rss;

  // `run` does the timed work; `check` looks at its answer afterwards (untimed).
  let run: (text: string) => unknown | Promise<unknown>;
  let check: (answer: unknown, i: number) => void = () => undefined;
  switch (tool) {
    case 'driftlens': {
      // Validity: zero problems, the fast reader answered, both sections hashed (here once; below, every run).
      const analysis = analyzeDocument(texts[0], 'yaml', 'config');
      const hashed = analysis.sections.filter((s) => s.hash).map((s) => s.name);
      if (analysis.problems.length !== 0) {
        throw new Error(`${spec.label} document has ${analysis.problems.length} problems: ${analysis.problems.slice(0, 3).map((p) => p.message).join('; ')}`);
      }
      if (hashed.length !== 2) throw new Error(`${spec.label}: expected hashes for pools and timeouts, got ${hashed.join(', ')}`);
      notes.push(`valid: 0 problems, reader=${analysis.parsed.reader}, hashed ${hashed.join('+')}`);
      const lines = expectedErrorLines(broken);
      const errors = analyzeDocument(broken, 'yaml', 'config').problems.filter((p) => p.severity !== 'warning');
      const errorLines = errors.map((p) => broken.slice(0, p.span.start).split('\n').length);
      if (!lines.every((l) => errorLines.includes(l))) throw new Error(`DriftLens missed an error in the broken document: ${errors.map((p) => p.message).join(' | ')}`);
      notes.push(`broken doc: ${errors.length} errors, on lines ${errorLines.join(', ')}`);
      run = (text) => analyzeDocument(text, 'yaml', 'config');
      check = (answer, i) => {
        const a = answer as ReturnType<typeof analyzeDocument>;
        if (a.problems.length !== 0 || a.sections.some((s) => !s.hash)) throw new Error(`run ${i}: ${a.problems.length} problems`);
      };
      break;
    }
    case 'yls': {
      const service = await loadYamlLanguageService();
      const uri = 'file:///bench/cfg.system.default.yaml';
      let version = 0;
      // One URI with a growing version, as an editor sends edits (yaml-language-server caches by URI and version).
      const validate = (text: string) => service.doValidation(TextDocument.create(uri, 'yaml', ++version, text), false);
      // Load the schema and warm the code up on the small document first (cheap next to a large one).
      const small = new DocumentFactory(SIZES[0].target);
      for (let i = 0; i < 3; i++) await validate(small.make(1000 + i));
      // Sanity, at full size: it loaded the schema with its $refs and validates the whole document.
      const lines = expectedErrorLines(broken);
      const diagnostics = await validate(broken);
      const diagnosticLines = diagnostics.map((d) => d.range.start.line + 1);
      if (!lines.every((l) => diagnosticLines.includes(l))) {
        throw new Error(`yaml-language-server missed an error in the broken document: ${diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.message}`).join(' | ')}`);
      }
      notes.push(`broken doc: ${diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.message}`).join(' | ')}`);
      run = (text) => validate(text);
      check = (answer, i) => {
        const d = answer as YlsDiagnostic[];
        if (d.length !== 0) throw new Error(`run ${i}: yaml-language-server reported ${d.length} diagnostics on a valid document: ${d[0].message}`);
      };
      break;
    }
    case 'yaml':
      run = (text) => parseDocument(text, { uniqueKeys: false });
      check = (answer) => {
        if ((answer as ReturnType<typeof parseDocument>).errors.length) throw new Error('yaml reported errors');
      };
      break;
    case 'jsyaml': {
      const jsYaml = require('js-yaml') as { load(text: string): unknown };
      run = (text) => jsYaml.load(text);
      break;
    }
  }

  for (let i = 0; i < texts.length; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const answer = await run(texts[i]);
    const elapsed = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    check(answer, i);
    if (i >= plan.warmup) {
      result.times.push(elapsed);
      result.cpu.push((cpu.user + cpu.system) / 1000);
    }
  }
  result.peakRssDelta = process.resourceUsage().maxRSS * 1024 - rssBefore;
  if (tool === 'driftlens') notes.push(`CPU median ${ms(median(result.cpu))}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Statistics and report

const mb = (bytes: number) => `${(bytes / MB).toFixed(bytes < 10 * MB ? 1 : 0)} MB`;
const sizeLabel = (bytes: number) => (bytes < MB ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / MB).toFixed(2)} MB`);

function runChild(tool: ToolName, size: number): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--child', tool, String(size)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answer: Measurement | undefined;
    child.on('message', (m) => (answer = m as Measurement));
    child.on('error', reject);
    child.on('exit', (code) => (answer && code === 0 ? resolve(answer) : reject(new Error(`child ${tool}/${SIZES[size].label} exited with ${code}`))));
  });
}

/**
 * yaml-language-server's time at the next size, extrapolated from its last two sizes with the growth
 * exponent they show (it is not linear), so a run that would take minutes is not started.
 */
function extrapolate(previous: Measurement[], bytes: number): number {
  const measured = previous.filter((m) => m.times.length);
  if (measured.length === 0) return 0;
  const last = measured[measured.length - 1];
  let exponent = 1;
  if (measured.length >= 2) {
    const before = measured[measured.length - 2];
    exponent = Math.max(1, Math.log(median(last.times) / median(before.times)) / Math.log(last.bytes / before.bytes));
  }
  return median(last.times) * Math.pow(bytes / last.bytes, exponent);
}


export interface AuthoringResults {
  sizes: string[];
  /** Per size, the four tools' measurements (driftlens, yls, yaml, jsyaml). */
  measurements: Measurement[][];
}

async function main(): Promise<void> {
  const started = performance.now();
  const machineLine = machine();
  console.log(`Machine: ${machineLine}`);
  const loadBefore = loadavg();
  console.log(`Load average at start (1/5/15 min): ${loadBefore}`);

  const results: Measurement[][] = [];
  const ylsSoFar: Measurement[] = [];
  for (let size = 0; size < SIZES.length; size++) {
    const row: Measurement[] = [];
    for (const tool of TOOLS) {
      let m: Measurement;
      const estimate = tool === 'yls' ? extrapolate(ylsSoFar, new DocumentFactory(SIZES[size].target).make(-1).length) : 0;
      if (estimate > YLS_RUN_CAP_MS) {
        m = { tool, size, bytes: 0, times: [], cpu: [], peakRssDelta: 0, notes: [], skipped: `not run: ~${(estimate / 1000).toFixed(0)} s per run extrapolated` };
      } else {
        m = await runChild(tool, size);
      }
      if (tool === 'yls') ylsSoFar.push(m);
      const summary = m.skipped ?? `median ${ms(median(m.times))}, p90 ${ms(quantile(m.times, 0.9))}, n=${m.times.length}; peak RSS +${mb(m.peakRssDelta)}`;
      console.log(`  ${SIZES[size].label.padEnd(6)} ${tool.padEnd(9)} ${summary}${m.notes.length ? '; ' + m.notes.join('; ') : ''}`);
      row.push(m);
    }
    results.push(row);
  }
  const run = endRun<AuthoringResults>('authoring', 'npm run bench:authoring', { machineLine, loadBefore }, started, { sizes: SIZES.map((s) => s.label), measurements: results });
  for (const [id, text] of Object.entries(renderAuthoring(saveRun(run)))) console.log(`\n<!-- ${id} -->\n${text}`);
}

/** The sections of BENCHMARKS.md generated from a saved run (see bench/report.ts). */
export function renderAuthoring(run: SavedRun<AuthoringResults>): Record<string, string> {
  const results = run.results.measurements;
  const lines: string[] = [runLine(run), ''];
  lines.push('| size | DriftLens median (p90) | yaml-language-server median | ratio | `yaml` parseDocument | js-yaml load |');
  lines.push('|---|---|---|---|---|---|');
  for (const [driftlens, yls, yamlPkg, jsYaml] of results) {
    const d = median(driftlens.times);
    const y = yls.times.length ? median(yls.times) : NaN;
    const ylsCell = yls.skipped ?? `${ms(y)} (n=${yls.times.length})`;
    const ratio = Number.isFinite(y) ? `${(y / d).toFixed(0)}x` : 'n/a';
    lines.push(
      `| ${sizeLabel(driftlens.bytes)} | ${ms(d)} (${ms(quantile(driftlens.times, 0.9))}, n=${driftlens.times.length}) | ${ylsCell} | ${ratio} | ${ms(median(yamlPkg.times))} | ${ms(median(jsYaml.times))} |`,
    );
  }
  lines.push('');
  lines.push(`- **DriftLens ms per MB** (1 MB = 2^20 bytes; wall time): ${results.map(([d]) => `${sizeLabel(d.bytes)}: ${perMb(d)}`).join(', ')}.`);
  lines.push(`  CPU ms per MB (user + system of all threads, less sensitive to other load): ${results.map(([d]) => `${sizeLabel(d.bytes)}: ${perMb(d, d.cpu)}`).join(', ')}.`);
  lines.push(`- **yaml-language-server ms per MB:** ${results.filter(([, y]) => y.times.length).map(([, y]) => `${sizeLabel(y.bytes)}: ${perMb(y)}`).join(', ')}.`);
  lines.push('- **Peak RSS growth** in a fresh process over its runs:');
  lines.push('');
  lines.push('  | size | DriftLens | yaml-language-server |');
  lines.push('  |---|---|---|');
  for (const [d, y] of results) lines.push(`  | ${sizeLabel(d.bytes)} | +${mb(d.peakRssDelta)} | ${y.skipped ? 'n/a' : '+' + mb(y.peakRssDelta)} |`);
  return { 'authoring-table': lines.join('\n'), 'authoring-targets': authoringTargets(results) };
}

const perMbValue = (m: Measurement, values = m.times) => (median(values) * MB) / m.bytes;
const perMb = (m: Measurement, values = m.times) => perMbValue(m, values).toFixed(0);

/** The verdict on each target, in numbers from the same run as the table. */
function authoringTargets(results: Measurement[][]): string {
  const small = results[0][0];
  const [large, ylsLarge] = results[2];
  const lines: string[] = [];
  const smallMedian = median(small.times);
  lines.push(
    `- **${sizeLabel(small.bytes)} under 10 ms: ${smallMedian < 10 ? 'met' : 'not met'}.** The median is ${ms(smallMedian)} and the p90 ${ms(quantile(small.times, 0.9))} (n=${small.times.length}).`,
  );
  if (ylsLarge.times.length) {
    const ratio = median(ylsLarge.times) / median(large.times);
    lines.push(
      `- **At least 10x faster than yaml-language-server at ${sizeLabel(large.bytes)}: ${ratio >= 10 ? 'met' : 'not met'}.** DriftLens took ${ms(median(large.times))} against ${ms(median(ylsLarge.times))}, ${ratio.toFixed(0)}x.`,
    );
  } else {
    lines.push(`- **At least 10x faster than yaml-language-server at ${sizeLabel(large.bytes)}: not measured** (${ylsLarge.skipped}).`);
  }
  // Linear: the CPU cost per MB from 256 KB upward stays within 1.5x. CPU time, not wall time: on
  // this shared machine other processes stretch the wall time of whichever size they overlap.
  const linearFrom = results.slice(1).map(([d]) => d);
  const costs = linearFrom.map((d) => perMbValue(d, d.cpu));
  const spread = Math.max(...costs) / Math.min(...costs);
  const first = linearFrom[0];
  const last = linearFrom[linearFrom.length - 1];
  const smallRatio = perMbValue(first, first.cpu) / perMbValue(small, small.cpu);
  lines.push(
    `- **Linear growth to ${sizeLabel(last.bytes)}: ${spread <= 1.5 ? `met from ${sizeLabel(first.bytes)} upward` : 'not met'}.** From ${sizeLabel(first.bytes)} to ${sizeLabel(last.bytes)} the CPU cost per MB ` +
      `is ${costs.map((c) => c.toFixed(0)).join(', ')} ms (largest / smallest ${spread.toFixed(2)}x; within 1.5x counts as linear). ` +
      `At ${sizeLabel(small.bytes)} it is ${perMb(small, small.cpu)} ms per MB, ${smallRatio.toFixed(1)}x less than at ${sizeLabel(first.bytes)}` +
      (smallRatio > 1.5 ? ': a small document stays in the CPU caches and V8\'s young generation.' : '.'),
  );
  return lines.join('\n');
}

async function child(tool: ToolName, size: number): Promise<void> {
  const result = await measure(tool, size);
  process.send!(result, () => process.exit(0));
}

if (process.argv[2] === '--child') {
  child(process.argv[3] as ToolName, Number(process.argv[4])).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
