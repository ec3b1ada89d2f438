/**
 * Authoring benchmark: what one keystroke costs once the debounce fires.
 *
 * For Cordum-shaped config documents of about 50 KB, 256 KB, 1 MB, 4 MB and 8 MB, of two kinds
 * (plain and construct-rich, see DocumentKind), it times
 *   - DriftLens `analyzeDocument(text, 'yaml', 'config')` (parse with spans, ajv validation, section hashes),
 *   - yaml-language-server 2.0 `doValidation` of the same text against the same schema files,
 *   - and, for reference, the `yaml` package's `parseDocument` and `js-yaml`'s `load` (parsers only),
 *     and V8's own `JSON.parse` of the same data written as JSON, at every size: what building these
 *     objects costs the engine itself, the floor any reader's growth per MB is measured against.
 *
 * Every timed run sees a different text (one topic's pool name carries the run number), so no
 * cache keyed by content or by document version can answer. Each (kind, tool, size) runs in a fresh
 * child process, so one tool's heap does not slow the other's garbage collection and the peak RSS
 * growth can be attributed.
 *
 * Run: `npm run bench:authoring` (compiles, runs this file, rewrites BENCHMARKS.md).
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { parseDocument } from 'yaml';
import { analyzeDocument } from '../src/core/analysis';
import { parseDocumentText } from '../src/core/document';
import { endRun, runLine, saveRun, type SavedRun } from './results';
import { loadavg, machine, MB, median, ms, quantile } from './stats';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'cordum');
const SCHEMAS = path.join(ROOT, 'schemas');

// ---------------------------------------------------------------------------------------------
// Documents

export interface SizeSpec {
  label: string;
  target: number;
}

export const SIZES: SizeSpec[] = [
  { label: '50 KB', target: 50 * 1024 },
  { label: '256 KB', target: 256 * 1024 },
  { label: '1 MB', target: 1 * MB },
  { label: '4 MB', target: 4 * MB },
  // The largest document DriftLens reads is 8 MB (MAX_DOCUMENT_BYTES): this one stays just under it,
  // with room for the run number the edit adds.
  { label: '8 MB', target: 8 * MB - 1024 },
];

/**
 * - `plain`: one line per key, block style, no comments in the generated part (the subset the fast
 *   reader answered first).
 * - `rich`: the same routing written the way people write config by hand: a `---` marker, comments
 *   on their own lines and after values, block scalars (`|`, `>-`), an anchored `requires` list reused
 *   through aliases, multi-line plain and double-quoted scalars, single-quoted scalars with `''`, flow
 *   sequences and maps across lines, and `!!str` / `!!int` / `!!seq` tags.
 */
export type DocumentKind = 'plain' | 'rich';
export const KINDS: DocumentKind[] = ['plain', 'rich'];
export const KIND_LABELS: Record<DocumentKind, string> = { plain: 'plain', rich: 'construct-rich' };

const indent = (text: string, by: string): string =>
  text
    .replace(/\s+$/, '')
    .split('\n')
    .map((line) => (line.length ? by + line : line))
    .join('\n');

/** Team n's topic line(s) and pool definition, in the document kind's style. */
function team(kind: DocumentKind, n: number): { topic: string; pool: string } {
  if (kind === 'plain') return { topic: `    job.team-${n}.process: pool-${n}\n`, pool: `    pool-${n}:\n      requires: []\n` };
  switch (n % 4) {
    case 0:
      return {
        topic: `    job.team-${n}.process: pool-${n}   # team ${n}'s main queue\n`,
        pool:
          `    # Team ${n}: scoring workers.\n` +
          `    pool-${n}:\n` +
          `      description: |\n` +
          `        Workers of team ${n}: fraud scoring and\n` +
          `        the nightly reconciliation batch.\n` +
          `      requires: ${n === 0 ? '&default-requires [linux, amd64]' : '*default-requires'}\n`,
      };
    case 1:
      return {
        topic: `    job.team-${n}.process: [\n      pool-${n},   # first choice\n      default\n    ]\n`,
        pool:
          `    pool-${n}:\n` +
          `      description: >-\n` +
          `        Folded text for team ${n}, written over\n` +
          `        two lines by hand.\n` +
          `      requires:\n` +
          `        - gpu    # needs CUDA\n` +
          `        - "linux"\n` +
          `      status: active\n`,
      };
    case 2:
      return {
        topic: `    job.team-${n}.process: !!str pool-${n}\n`,
        pool: `    pool-${n}: {requires: [gpu,\n        linux], status: active,\n        description: "team ${n}'s pool,\n        written over two lines"}\n`,
      };
    default:
      return {
        topic: `    "job.team-${n}.process":\n      - 'pool-${n}'\n      - default\n`,
        pool:
          `    pool-${n}:\n` +
          `      description: a plain scalar that\n` +
          `        continues on the next line for team ${n}\n` +
          `      requires: !!seq ['linux', 'team-${n}''s-image']\n` +
          `      status: !!str draining\n` +
          `      drain_started_at: "2026-11-30T09:00:00Z"\n` +
          `      drain_timeout_seconds: !!int 300\n`,
      };
  }
}

/**
 * The real Cordum pools.yaml and timeouts.yaml as the `pools` and `timeouts` sections of one data
 * map (no envelope), the pools section scaled up with one topic and one pool per team (see team()).
 * `make(run)` returns the document whose middle topic routes to `pool-M-rRUN`, a flat string ready
 * to hand over.
 */
export class DocumentFactory {
  readonly teams: number;
  private readonly before: string;
  private readonly after: string;
  private readonly editedTopic: string;

  constructor(kind: DocumentKind, target: number) {
    const pools = readFileSync(path.join(FIXTURES, 'pools.yaml'), 'utf8');
    const timeouts = readFileSync(path.join(FIXTURES, 'timeouts.yaml'), 'utf8');
    const [topicsPart, poolsPart] = pools.split(/^pools:\n/m);
    if (!topicsPart.startsWith('topics:\n') || poolsPart === undefined) throw new Error('unexpected pools.yaml layout');
    const realTopics = indent(topicsPart.slice('topics:\n'.length), '  ');
    const realPools = indent(poolsPart, '  ');
    const timeoutsSection = 'timeouts:\n' + indent(timeouts, '  ') + '\n';
    const head = kind === 'rich' ? '# Cordum runtime config, kept by hand: routing and timeouts.\n---\n# Routing\n' : '';
    const poolsHead = kind === 'rich' ? '  # Which pool serves each job topic.\n' : '';
    const fixed = `${head}pools:\n${poolsHead}  topics:\n${realTopics}\n  pools:\n${realPools}\n${timeoutsSection}`.length;
    let teams = 0;
    let size = fixed;
    const topicLines: string[] = [];
    const poolLines: string[] = [];
    while (size < target) {
      const { topic, pool } = team(kind, teams++);
      topicLines.push(topic);
      poolLines.push(pool);
      size += topic.length + pool.length;
    }
    this.teams = teams;
    // A team whose number is a multiple of 4 writes its topic on one line in both kinds.
    const mid = (teams >> 3) << 2;
    this.editedTopic = `    job.team-${mid}.process: pool-${mid}`;
    if (!topicLines[mid].startsWith(this.editedTopic)) throw new Error(`unexpected topic line for team ${mid}: ${topicLines[mid]}`);
    const editedRest = topicLines[mid].slice(this.editedTopic.length);
    this.before = `${head}pools:\n${poolsHead}  topics:\n${realTopics}\n` + topicLines.slice(0, mid).join('');
    this.after = editedRest + topicLines.slice(mid + 1).join('') + `  pools:\n${realPools}\n` + poolLines.join('') + timeoutsSection;
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

type ToolName = 'driftlens' | 'yls' | 'yaml' | 'jsyaml' | 'jsonparse';
const TOOLS: ToolName[] = ['driftlens', 'yls', 'yaml', 'jsyaml', 'jsonparse'];
/** Run in two rounds at every size (see main). */
const LINEARITY_TOOLS: ToolName[] = ['driftlens', 'jsonparse'];
/** Where JSON.parse stands in a size's row of measurements (absent in runs before it was added). */
const JSON_PARSE = TOOLS.indexOf('jsonparse');

interface Plan {
  /** Warm-ups, at most: they stop after the first once they have taken TIMED_BUDGET_MS / 4. */
  warmup: number;
  /** Timed runs, at most: past TIMED_BUDGET_MS of timed runs, a child stops after minRuns (MIN_RUNS). */
  runs: number;
  minRuns?: number;
}

/** Keeps `npm run bench:authoring` practical whatever the reader's speed: large, slow cases get fewer runs. */
const TIMED_BUDGET_MS = 8_000;
const MIN_RUNS = 3;
/** No tool is started at a size where one run is expected to take longer than this (see extrapolate()). */
const RUN_CAP_MS = 20_000;

// Warm-up and timed runs per size (50 KB, 256 KB, 1 MB, 4 MB, 8 MB), the same for both document
// kinds; undefined: not run at that size. DriftLens runs at every size (the linearity target). The
// others run at 50 KB and 1 MB, where the targets compare: yaml-language-server's duplicate-key check
// makes it superlinear (minutes per run at 4 MB), and the two parsers are for reference only.
// yaml-language-server also validates a broken document at full size before its runs (the sanity
// check), which warms it up as well.
// The validity check before the timed runs analyses a full-size document too (untimed), so the
// large sizes need no separate warm-up.
const EVERY_SIZE: Plan[] = [
  { warmup: 15, runs: 25 },
  { warmup: 4, runs: 11 },
  { warmup: 2, runs: 7 },
  { warmup: 0, runs: 5 },
  { warmup: 0, runs: 5 },
];
const PLANS: Record<ToolName, (Plan | undefined)[]> = {
  driftlens: EVERY_SIZE,
  // At 1 MB one validation takes seconds (plain) to more than a minute (construct-rich, on the
  // `yaml` package's alias resolution): past the budget, one timed run after the sanity check.
  yls: [{ warmup: 2, runs: 7 }, undefined, { warmup: 0, runs: 3, minRuns: 1 }, undefined, undefined],
  yaml: [{ warmup: 3, runs: 11 }, undefined, { warmup: 1, runs: 3 }, undefined, undefined],
  jsyaml: [{ warmup: 5, runs: 21 }, undefined, { warmup: 1, runs: 5 }, undefined, undefined],
  // The same runs as DriftLens: the engine's own growth per MB over the same sizes (native code, no
  // warm-up to speak of).
  jsonparse: EVERY_SIZE,
};

export interface Measurement {
  tool: ToolName;
  kind: DocumentKind;
  size: number;
  bytes: number;
  /** Wall time of each timed run, ms. */
  times: number[];
  /** CPU time (user + system, all threads of the process) of each timed run, ms. */
  cpu: number[];
  /** Growth of the child's peak RSS over its RSS just before the tool first ran, in bytes. */
  peakRssDelta: number;
  /** DriftLens only: which reader answered (`analysis.parsed.reader`: the fast reader or `yaml`). */
  reader?: string;
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

async function measure(kind: DocumentKind, tool: ToolName, sizeIndex: number): Promise<Measurement> {
  const spec = SIZES[sizeIndex];
  const factory = new DocumentFactory(kind, spec.target);
  const plan = PLANS[tool][sizeIndex];
  if (!plan) throw new Error(`${tool} has no plan at ${spec.label}`);
  const notes: string[] = [];
  // Every text is built before anything is timed; each run (warm-ups included) sees a new text.
  let texts: string[] = [];
  for (let i = 0; i < plan.warmup + plan.runs; i++) texts.push(factory.make(i));
  const broken = factory.broken();
  // `bytes` is the YAML document's size for every tool, so that costs per MB compare.
  const result: Measurement = { tool, kind, size: sizeIndex, bytes: Buffer.byteLength(texts[0]), times: [], cpu: [], peakRssDelta: 0, notes };
  if (tool === 'jsonparse') {
    // The same data as JSON text, built untimed (and before the RSS baseline).
    texts = texts.map((text) => JSON.stringify(parseDocumentText(text, 'yaml').located.value));
    notes.push(`the same data as ${mb(Buffer.byteLength(texts[0]))} of JSON`);
  }
  const rssBefore = process.memoryUsage().rss;

  // `run` does the timed work; `check` looks at its answer afterwards (untimed).
  let run: (text: string) => unknown | Promise<unknown>;
  let check: (answer: unknown, i: number) => void = () => undefined;
  switch (tool) {
    case 'driftlens': {
      // Validity: no error, both sections hashed (here once; below, every run); which reader answered.
      // Warnings and notes (cross-references, say) are counted, not refused: the documents are valid.
      const analysis = analyzeDocument(texts[0], 'yaml', 'config');
      const hashed = analysis.sections.filter((s) => s.hash).map((s) => s.name);
      const errors = analysis.problems.filter((p) => p.severity === 'error');
      if (errors.length !== 0) {
        throw new Error(`${KIND_LABELS[kind]} ${spec.label} document has ${errors.length} errors: ${errors.slice(0, 3).map((p) => p.message).join('; ')}`);
      }
      if (hashed.length !== 2) throw new Error(`${spec.label}: expected hashes for pools and timeouts, got ${hashed.join(', ')}`);
      result.reader = analysis.parsed.reader;
      notes.push(`valid: 0 errors (${analysis.problems.length} warnings and notes), reader=${analysis.parsed.reader}, hashed ${hashed.join('+')}`);
      const lines = expectedErrorLines(broken);
      const brokenErrors = analyzeDocument(broken, 'yaml', 'config').problems.filter((p) => p.severity === 'error');
      const errorLines = brokenErrors.map((p) => broken.slice(0, p.span.start).split('\n').length);
      if (!lines.every((l) => errorLines.includes(l))) throw new Error(`DriftLens missed an error in the broken document: ${brokenErrors.map((p) => p.message).join(' | ')}`);
      notes.push(`broken doc: ${brokenErrors.length} errors, on lines ${errorLines.join(', ')}`);
      run = (text) => analyzeDocument(text, 'yaml', 'config');
      check = (answer, i) => {
        const a = answer as ReturnType<typeof analyzeDocument>;
        const runErrors = a.problems.filter((p) => p.severity === 'error').length;
        if (runErrors !== 0 || a.sections.some((s) => !s.hash) || a.parsed.reader !== result.reader) throw new Error(`run ${i}: ${runErrors} errors, reader ${a.parsed.reader}`);
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
      const small = new DocumentFactory(kind, SIZES[0].target);
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
    case 'jsonparse':
      run = (text) => JSON.parse(text);
      break;
  }

  let timedMs = 0;
  let warmupMs = 0;
  for (let i = 0; i < texts.length; i++) {
    if (timedMs > TIMED_BUDGET_MS && result.times.length >= (plan.minRuns ?? MIN_RUNS)) break;
    // Past a long warm-up the code is warm: go on to the timed runs.
    if (i < plan.warmup && i > 0 && warmupMs > TIMED_BUDGET_MS / 4) i = plan.warmup;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const answer = await run(texts[i]);
    const elapsed = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    check(answer, i);
    if (i < plan.warmup) warmupMs += elapsed;
    else {
      timedMs += elapsed;
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
export const sizeLabel = (bytes: number) => (bytes < MB ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / MB).toFixed(2)} MB`);
const ratioText = (r: number) => `${r.toFixed(r < 10 ? 1 : 0)}x`;

function runChild(kind: DocumentKind, tool: ToolName, size: number): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--child', kind, tool, String(size)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answer: Measurement | undefined;
    child.on('message', (m) => (answer = m as Measurement));
    child.on('error', reject);
    child.on('exit', (code) => (answer && code === 0 ? resolve(answer) : reject(new Error(`child ${kind}/${tool}/${SIZES[size].label} exited with ${code}`))));
  });
}

/**
 * A tool's time at the next size, extrapolated from its last two sizes with the growth exponent they
 * show (yaml-language-server is not linear, nor is a reader resolving aliases by a search), so a run
 * that would take minutes is not started.
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
  /** Per document kind, per size, the tools' measurements (driftlens, yls, yaml, jsyaml, then jsonparse; runs before it have four). */
  kinds: { kind: DocumentKind; measurements: Measurement[][] }[];
}

const skippedMeasurement = (kind: DocumentKind, tool: ToolName, size: number, why: string): Measurement => ({ tool, kind, size, bytes: 0, times: [], cpu: [], peakRssDelta: 0, notes: [], skipped: why });

async function main(): Promise<void> {
  const started = performance.now();
  const machineLine = machine();
  console.log(`Machine: ${machineLine}`);
  const loadBefore = loadavg();
  console.log(`Load average at start (1/5/15 min): ${loadBefore}`);

  const kinds: AuthoringResults['kinds'] = [];
  for (const kind of KINDS) {
    const results: Measurement[][] = [];
    const soFar: Record<ToolName, Measurement[]> = { driftlens: [], yls: [], yaml: [], jsyaml: [], jsonparse: [] };
    for (let size = 0; size < SIZES.length; size++) {
      const row: Measurement[] = [];
      for (const tool of TOOLS) {
        let m: Measurement;
        const estimate = PLANS[tool][size] ? extrapolate(soFar[tool], new DocumentFactory(kind, SIZES[size].target).make(-1).length) : 0;
        if (!PLANS[tool][size]) m = skippedMeasurement(kind, tool, size, 'not run at this size');
        else if (estimate > RUN_CAP_MS) m = skippedMeasurement(kind, tool, size, `not run: ~${(estimate / 1000).toFixed(0)} s per run extrapolated`);
        else m = await runChild(kind, tool, size);
        soFar[tool].push(m);
        const summary = m.skipped ?? `median ${ms(median(m.times))}, p90 ${ms(quantile(m.times, 0.9))}, n=${m.times.length}; peak RSS +${mb(m.peakRssDelta)}`;
        console.log(`  ${kind.padEnd(5)} ${SIZES[size].label.padEnd(6)} ${tool.padEnd(9)} ${summary}${m.notes.length ? '; ' + m.notes.join('; ') : ''}`);
        row.push(m);
      }
      results.push(row);
    }
    // The sizes the linearity target compares ran minutes apart, and this machine's neighbours come
    // and go: a second round of DriftLens and JSON.parse, largest size first, joins each size's runs,
    // so that a slow minute does not land on one size only.
    for (let size = SIZES.length - 1; size >= 0; size--) {
      for (const tool of LINEARITY_TOOLS) {
        const first = results[size][TOOLS.indexOf(tool)];
        if (first.skipped) continue;
        const again = await runChild(kind, tool, size);
        first.times.push(...again.times);
        first.cpu.push(...again.cpu);
        first.peakRssDelta = Math.max(first.peakRssDelta, again.peakRssDelta);
        console.log(`  ${kind.padEnd(5)} ${SIZES[size].label.padEnd(6)} ${tool.padEnd(9)} second round: median ${ms(median(again.times))}, n=${again.times.length}`);
      }
    }
    kinds.push({ kind, measurements: results });
  }
  const run = endRun<AuthoringResults>('authoring', 'npm run bench:authoring', { machineLine, loadBefore }, started, { sizes: SIZES.map((s) => s.label), kinds });
  for (const [id, text] of Object.entries(renderAuthoring(saveRun(run)))) console.log(`\n<!-- ${id} -->\n${text}`);
}

const cell = (m: Measurement, text: () => string) => (m.skipped ? (m.skipped === 'not run at this size' ? '–' : m.skipped) : text());

/** The sections of BENCHMARKS.md generated from a saved run (see bench/report.ts). */
export function renderAuthoring(run: SavedRun<AuthoringResults>): Record<string, string> {
  const lines: string[] = [runLine(run)];
  for (const { kind, measurements } of run.results.kinds) {
    lines.push('', `**${KIND_LABELS[kind][0].toUpperCase()}${KIND_LABELS[kind].slice(1)} documents:**`, '');
    lines.push('| size | reader | DriftLens median (p90) | yaml-language-server median | ratio | `yaml` parseDocument | js-yaml load |');
    lines.push('|---|---|---|---|---|---|---|');
    for (const [driftlens, yls, yamlPkg, jsYaml] of measurements) {
      const d = median(driftlens.times);
      const ratio = yls.times.length && driftlens.times.length ? ratioText(median(yls.times) / d) : '–';
      const size = driftlens.skipped ? run.results.sizes[driftlens.size] : sizeLabel(driftlens.bytes);
      lines.push(
        `| ${size} | ${driftlens.reader ?? '–'} | ${cell(driftlens, () => `${ms(d)} (${ms(quantile(driftlens.times, 0.9))}, n=${driftlens.times.length})`)} | ` +
          `${cell(yls, () => `${ms(median(yls.times))} (n=${yls.times.length})`)} | ${ratio} | ${cell(yamlPkg, () => ms(median(yamlPkg.times)))} | ${cell(jsYaml, () => ms(median(jsYaml.times)))} |`,
      );
    }
    lines.push('');
    const measured = measurements.filter(([d]) => d.times.length);
    lines.push(`- DriftLens ms per MB (1 MB = 2^20 bytes), wall time: ${measured.map(([d]) => `${sizeLabel(d.bytes)}: ${perMb(d)}`).join(', ')}.`);
    lines.push(`  CPU ms per MB (user + system of all threads, less sensitive to other load): ${measured.map(([d]) => `${sizeLabel(d.bytes)}: ${perMb(d, d.cpu)}`).join(', ')}.`);
    const ylsMeasured = measurements.filter(([, y]) => y.times.length);
    if (ylsMeasured.length) lines.push(`- yaml-language-server ms per MB: ${ylsMeasured.map(([, y]) => `${sizeLabel(y.bytes)}: ${perMb(y)}`).join(', ')}.`);
    const jsonMeasured = measurements.map((row) => row[JSON_PARSE]).filter((j): j is Measurement => j !== undefined && j.times.length > 0);
    if (jsonMeasured.length) {
      lines.push(
        `- V8's \`JSON.parse\` of the same data written as JSON (no source positions, no validation, no hashes), CPU ms per MB of the YAML document: ` +
          `${jsonMeasured.map((j) => `${sizeLabel(j.bytes)}: ${perMb(j, j.cpu)}`).join(', ')}.`,
      );
    }
  }
  lines.push('', '**Peak RSS growth** in a fresh process over its runs:', '');
  const kinds = run.results.kinds;
  lines.push(`| size | ${kinds.map(({ kind }) => `DriftLens, ${KIND_LABELS[kind]} | yaml-language-server, ${KIND_LABELS[kind]}`).join(' | ')} |`);
  lines.push(`|---|${kinds.map(() => '---|---|').join('')}`);
  run.results.sizes.forEach((label, size) => {
    const rss = (m: Measurement) => (m.skipped ? '–' : `+${mb(m.peakRssDelta)}`);
    lines.push(`| ${label} | ${kinds.map(({ measurements }) => `${rss(measurements[size][0])} | ${rss(measurements[size][1])}`).join(' | ')} |`);
  });
  lines.push('', '–: not run at that size (see "How it measures"); "not run: ~N s per run extrapolated": its time per run, extrapolated from its smaller sizes, is past the cap.');
  return { 'authoring-table': lines.join('\n'), 'authoring-targets': authoringTargets(run.results) };
}

const perMbValue = (m: Measurement, values = m.times) => (median(values) * MB) / m.bytes;
const perMb = (m: Measurement, values = m.times) => perMbValue(m, values).toFixed(0);
const verdict = (met: boolean) => (met ? 'met' : 'not met');

/** The verdict on each target, in numbers from the same run as the tables. */
function authoringTargets(results: AuthoringResults): string {
  const byKind = (kind: DocumentKind) => results.kinds.find((k) => k.kind === kind)!.measurements;
  const lines: string[] = [];
  const label = (kind: DocumentKind) => KIND_LABELS[kind];

  // 10x faster than yaml-language-server, on the construct-rich documents, at 50 KB and 1 MB.
  const rich = byKind('rich');
  const speedups = [0, 2].map((size) => {
    const [d, y] = rich[size];
    return { size: results.sizes[size], d, y, ratio: y.times.length && d.times.length ? median(y.times) / median(d.times) : NaN };
  });
  const speedupMet = speedups.every((s) => s.ratio >= 10);
  const anyMissed = speedups.some((s) => Number.isFinite(s.ratio) && s.ratio < 10);
  const describeSpeedup = ({ size, d, y, ratio }: (typeof speedups)[number]) =>
    Number.isFinite(ratio)
      ? `At ${size} DriftLens took ${ms(median(d.times))} against ${ms(median(y.times))}, ${ratioText(ratio)}`
      : `At ${size} ${d.skipped ? 'DriftLens' : 'yaml-language-server'} did not run (${(d.skipped ?? y.skipped ?? '').replace(/^not run: /, '')})`;
  lines.push(
    `- **At least 10x faster than yaml-language-server at 50 KB and 1 MB on ${label('rich')} documents: ${speedupMet ? 'met' : anyMissed ? 'not met' : 'not measured'}.** ` +
      speedups.map(describeSpeedup).join('. ') +
      '. On plain documents: ' +
      [0, 2].map((size) => { const [d, y] = byKind('plain')[size]; return y.times.length && d.times.length ? `${ratioText(median(y.times) / median(d.times))} at ${results.sizes[size]}` : `not measured at ${results.sizes[size]}`; }).join(', ') + '.',
  );

  // 50 KB under 10 ms, both kinds.
  const small = KINDS.map((kind) => ({ kind, m: byKind(kind)[0][0] }));
  lines.push(
    `- **50 KB under 10 ms: ${verdict(small.every(({ m }) => median(m.times) < 10))}.** ` +
      small.map(({ kind, m }) => `${label(kind)[0].toUpperCase()}${label(kind).slice(1)} (${sizeLabel(m.bytes)}): median ${ms(median(m.times))}, p90 ${ms(quantile(m.times, 0.9))} (n=${m.times.length})`).join('; ') + '.',
  );

  // Linear: the CPU cost per MB from 256 KB upward stays within 1.5x. CPU time, not wall time: on
  // this shared machine other processes stretch the wall time of whichever size they overlap.
  const largest = results.sizes[results.sizes.length - 1];
  for (const kind of KINDS) {
    const all = byKind(kind).map(([d]) => d);
    const from = all.slice(1).filter((d) => d.times.length);
    const notRun = all.slice(1).filter((d) => !d.times.length);
    if (from.length < 2) {
      lines.push(`- **Linear growth to ${largest} in CPU time, ${label(kind)} documents: not measured.** DriftLens ran at ${from.length ? sizeLabel(from[0].bytes) : 'no size'} above 50 KB; ${notRun.map((d) => `${results.sizes[d.size]}: ${d.skipped}`).join('; ')}.`);
      continue;
    }
    const costs = from.map((d) => perMbValue(d, d.cpu));
    const spread = Math.max(...costs) / Math.min(...costs);
    const first = from[0];
    const last = from[from.length - 1];
    const smallRatio = perMbValue(first, first.cpu) / perMbValue(all[0], all[0].cpu);
    const met = spread <= 1.5 && notRun.length === 0;
    // The engine's own growth over the same sizes, when this run measured it.
    const json = byKind(kind).slice(1).map((row) => row[JSON_PARSE]);
    let engine = '';
    if (json.every((j) => j !== undefined && j.times.length > 0)) {
      const c = json.map((j) => perMbValue(j, j.cpu));
      engine = ` V8's own \`JSON.parse\` of the same data over the same sizes: ${c.map((v) => v.toFixed(0)).join(', ')} ms per MB (largest / smallest ${(Math.max(...c) / Math.min(...c)).toFixed(2)}x).`;
    }
    lines.push(
      `- **Linear growth to ${largest} in CPU time, ${label(kind)} documents: ${met ? `met from ${sizeLabel(first.bytes)} upward` : notRun.length ? 'not measured' : 'not met'}.** From ${sizeLabel(first.bytes)} to ${sizeLabel(last.bytes)} the CPU cost per MB ` +
        `is ${costs.map((c) => c.toFixed(0)).join(', ')} ms (largest / smallest ${spread.toFixed(2)}x; within 1.5x counts as linear)` +
        (notRun.length ? `; ${notRun.map((d) => `${results.sizes[d.size]}: ${d.skipped}`).join('; ')}. ` : '. ') +
        `At ${sizeLabel(all[0].bytes)} it is ${perMb(all[0], all[0].cpu)} ms per MB, ${smallRatio.toFixed(1)}x ${smallRatio >= 1 ? 'less' : 'more'} than at ${sizeLabel(first.bytes)}.` +
        engine,
    );
  }

  // Which reader answered: the fast reader is the path the speed targets are about.
  const readers = KINDS.map((kind) => ({ kind, readers: [...new Set(byKind(kind).filter(([d]) => d.reader).map(([d]) => d.reader!))] }));
  const fast = readers.every(({ readers: r }) => r.length === 1 && r[0] !== 'yaml');
  lines.push(
    `- **The fast reader answers every document kind: ${verdict(fast)}.** ` +
      readers.map(({ kind, readers: r }) => `${label(kind)[0].toUpperCase()}${label(kind).slice(1)}: \`${r.join('`, `')}\``).join('; ') +
      ' (`analysis.parsed.reader`; `yaml` is the fallback to the `yaml` package).',
  );
  return lines.join('\n');
}

async function child(kind: DocumentKind, tool: ToolName, size: number): Promise<void> {
  const result = await measure(kind, tool, size);
  process.send!(result, () => process.exit(0));
}

if (process.argv[2] === '--child' && require.main === module) {
  child(process.argv[3] as DocumentKind, process.argv[4] as ToolName, Number(process.argv[5])).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
