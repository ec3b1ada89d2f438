/**
 * How much work an analysis does per MB, counted in instructions rather than time: is it linear?
 *
 *   npm run bench:work      (valgrind's callgrind with its cache simulation; about 25 minutes; writes bench/results/analysisWork.json)
 *
 * Why a second measure: the authoring bench times the analysis in CPU ms per MB, and on this shared
 * machine (1 MB of L2 per core, an L3 shared with other tenants) the time per MB of *any* large
 * in-memory job grows once its data leave the caches: V8's own `JSON.parse` of the same data grows
 * 2 to 4x from 256 KB to 8 MB in that bench. Time cannot tell an algorithm that does more work per MB
 * on a larger document (a quadratic step, a sort, a collector copying more) from one that does the
 * same work more slowly. Instructions can: callgrind counts every instruction the process runs, in
 * every thread (the collector's helpers included), the same count whatever else the machine does.
 *
 * Method: a child under `valgrind --tool=callgrind` builds N changed documents and analyses the first
 * `low` of them; a second child, started beside it, analyses the first `high`. Both build the same
 * documents and load the same code, so the difference of their totals is the work of `high - low`
 * warm analyses, start-up and building cancelled out. `JSON.parse` of the same data (as JSON) is
 * measured the same way, as the engine's own reference.
 *
 * The children run with V8's `--predictable`: no background threads and a fixed collection schedule.
 * Without it the count was not repeatable: V8 sizes its heap from allocation and collection speeds
 * measured by the clock, and background threads mark concurrently, so the same 4 MB analysis counted
 * 3.2 and 5.0 G instructions in two runs (the difference was all mark-compact work). With it, two
 * runs of the same child differed by 0.001%.
 *
 * Cache misses: callgrind also simulates this machine's L1 data cache and, as its last level, the
 * core's own L2 (read from /sys/devices/system/cpu/cpu0/cache; callgrind simulates two levels, and
 * past the L2 an access waits on the L3 the cores share, or memory). Instructions that stay linear
 * while misses per MB grow are the same work done more slowly: the machine's part of a rise in time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { analyzeDocument } from '../src/core/analysis';
import { parseDocumentText } from '../src/core/document';
import { DocumentFactory, KIND_LABELS, KINDS, SIZES, sizeLabel, type DocumentKind } from './authoring.bench';
import { endRun, runLine, saveRun, type SavedRun } from './results';
import { loadavg, machine, MB } from './stats';

type WorkTool = 'driftlens' | 'jsonparse';
const WORK_TOOLS: WorkTool[] = ['driftlens', 'jsonparse'];
const TOOL_LABELS: Record<WorkTool, string> = { driftlens: 'DriftLens', jsonparse: 'V8 `JSON.parse`' };

/**
 * Analyses (or parses) in the low and the high child, per size. Several runs in the difference, since
 * one run may hold a mark-compact collection and the next none: `JSON.parse` is cheap, and gets more.
 * 50 KB is left out, as from the authoring bench's linearity target.
 */
const PLANS: Record<WorkTool, Record<string, { low: number; high: number }>> = {
  driftlens: {
    '256 KB': { low: 4, high: 14 },
    '1 MB': { low: 2, high: 6 },
    '4 MB': { low: 1, high: 3 },
    '8 MB': { low: 1, high: 3 },
  },
  jsonparse: {
    '256 KB': { low: 4, high: 54 },
    '1 MB': { low: 2, high: 27 },
    '4 MB': { low: 1, high: 11 },
    '8 MB': { low: 1, high: 6 },
  },
};
const SIZE_LABELS = Object.keys(PLANS.driftlens);

/** Linear: the work per MB, from 256 KB upward, stays within this factor. */
const LINEAR_WITHIN = 1.5;

export interface WorkMeasurement {
  kind: DocumentKind;
  tool: WorkTool;
  size: string;
  /** The document's size in bytes (the YAML text, for both tools, so that costs per MB compare). */
  bytes: number;
  low: number;
  high: number;
  lowInstructions: number;
  highInstructions: number;
  /** Simulated data-cache misses of each child (absent in runs before the cache simulation). */
  lowMisses?: DataMisses;
  highMisses?: DataMisses;
  /** Which reader answered (DriftLens only). */
  reader?: string;
}

/** Data reads and writes that missed the simulated L1 data cache, and the L2 behind it. */
export interface DataMisses {
  l1: number;
  l2: number;
}

export interface WorkResults {
  valgrind: string;
  /** The simulated caches, e.g. "L1d 48 KB 12-way, L2 1024 KB 16-way, 64-byte lines" (absent: not simulated). */
  caches?: string;
  measurements: WorkMeasurement[];
}

interface CacheLevel {
  bytes: number;
  ways: number;
  line: number;
}

/** This machine's L1 data cache and L2, from sysfs (Linux); undefined where they cannot be read. */
function cacheGeometry(): { l1: CacheLevel; l2: CacheLevel } | undefined {
  const levels: { level: number; type: string; geometry: CacheLevel }[] = [];
  for (let index = 0; index < 8; index++) {
    const dir = `/sys/devices/system/cpu/cpu0/cache/index${index}`;
    try {
      const read = (name: string) => readFileSync(path.join(dir, name), 'utf8').trim();
      const size = /^(\d+)K$/.exec(read('size'));
      if (!size) continue;
      levels.push({ level: Number(read('level')), type: read('type'), geometry: { bytes: Number(size[1]) * 1024, ways: Number(read('ways_of_associativity')), line: Number(read('coherency_line_size')) } });
    } catch {
      break;
    }
  }
  const l1 = levels.find((c) => c.level === 1 && c.type === 'Data')?.geometry;
  const l2 = levels.find((c) => c.level === 2 && c.type === 'Unified')?.geometry;
  return l1 && l2 ? { l1, l2 } : undefined;
}

const describeCaches = (caches: { l1: CacheLevel; l2: CacheLevel }) =>
  `L1d ${caches.l1.bytes / 1024} KB ${caches.l1.ways}-way, L2 ${caches.l2.bytes / 1024} KB ${caches.l2.ways}-way, ${caches.l2.line}-byte lines`;

const perRun = (m: WorkMeasurement) => (m.highInstructions - m.lowInstructions) / (m.high - m.low);
const perMb = (m: WorkMeasurement) => perRun(m) / (m.bytes / MB);
const missesPerMb = (m: WorkMeasurement, level: keyof DataMisses): number | undefined =>
  m.lowMisses && m.highMisses ? (m.highMisses[level] - m.lowMisses[level]) / (m.high - m.low) / (m.bytes / MB) : undefined;

// ---------------------------------------------------------------------------------------------
// Child: build, then analyse (or parse) the first `count` documents.

function child(kind: DocumentKind, tool: WorkTool, sizeLabelText: string, built: number, count: number): void {
  const spec = SIZES.find((s) => s.label === sizeLabelText)!;
  const factory = new DocumentFactory(kind, spec.target);
  // JSON.parse gets its texts from two conversions, then the others by substitution: the documents
  // differ in one run number only.
  const yamlTexts = Array.from({ length: tool === 'jsonparse' ? 2 : built }, (_, i) => factory.make(i));
  let texts = yamlTexts;
  if (tool === 'jsonparse') {
    const [a, b] = yamlTexts.map((yaml) => JSON.stringify(parseDocumentText(yaml, 'yaml').located.value));
    let at = 0;
    while (a[at] === b[at]) at++;
    const digits = /^[0-9]+/.exec(a.slice(at, at + 20))![0].length;
    texts = Array.from({ length: built }, (_, i) => a.slice(0, at) + String(i) + a.slice(at + digits));
    for (const t of texts) t.charCodeAt(t.length >> 1); // flat, as the YAML texts are
  }
  let reader = '';
  for (let i = 0; i < count; i++) {
    if (tool === 'jsonparse') {
      JSON.parse(texts[i]);
      continue;
    }
    const analysis = analyzeDocument(texts[i], 'yaml', 'config');
    const errors = analysis.problems.filter((p) => p.severity === 'error');
    if (errors.length || analysis.sections.filter((s) => s.hash).length !== 2) throw new Error(`${kind} ${spec.label}: ${errors.length} errors, ${analysis.sections.length} sections`);
    reader = analysis.parsed.reader;
  }
  process.stdout.write(JSON.stringify({ bytes: Buffer.byteLength(yamlTexts[0]), reader }) + '\n');
}

// ---------------------------------------------------------------------------------------------
// Parent

function underCallgrind(args: string[], caches: { l1: CacheLevel; l2: CacheLevel } | undefined): Promise<{ instructions: number; misses?: DataMisses; answer: { bytes: number; reader: string } }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'driftlens-work-'));
  const level = (c: CacheLevel) => `${c.bytes},${c.ways},${c.line}`;
  const cacheSim = caches ? ['--cache-sim=yes', `--D1=${level(caches.l1)}`, `--LL=${level(caches.l2)}`] : [];
  return new Promise((resolve, reject) => {
    const proc = spawn('valgrind', ['--tool=callgrind', ...cacheSim, `--callgrind-out-file=${path.join(dir, 'callgrind.out')}`, process.execPath, '--predictable', '--max-old-space-size=4096', __filename, '--child', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d));
    proc.stderr.on('data', (d: Buffer) => (stderr += d));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      rmSync(dir, { recursive: true, force: true });
      const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr);
      if (code !== 0 || !refs) {
        reject(new Error(`callgrind child ${args.join(' ')} exited with ${code}:\n${stderr.split('\n').filter((l) => !l.startsWith('==')).join('\n').slice(-2000)}`));
        return;
      }
      const count = (pattern: RegExp) => Number(pattern.exec(stderr)?.[1].replace(/,/g, '') ?? NaN);
      // With --LL set to the L2, callgrind's "LLd" line counts the data misses of the L2.
      const misses = caches ? { l1: count(/D1\s+misses:\s+([\d,]+)/), l2: count(/LLd misses:\s+([\d,]+)/) } : undefined;
      if (misses && !(misses.l1 >= 0 && misses.l2 >= 0)) {
        reject(new Error(`callgrind child ${args.join(' ')}: no cache-miss counts in its summary`));
        return;
      }
      resolve({ instructions: Number(refs[1].replace(/,/g, '')), misses, answer: JSON.parse(stdout.trim().split('\n').pop()!) });
    });
  });
}

function valgrindVersion(): Promise<string> {
  return new Promise((resolve) => {
    const proc = spawn('valgrind', ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d));
    proc.on('error', () => resolve(''));
    proc.on('exit', () => resolve(out.trim()));
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const valgrind = await valgrindVersion();
  if (!valgrind) throw new Error('valgrind is not installed (Debian package valgrind): this bench counts instructions with its callgrind tool');
  const machineLine = machine();
  const loadBefore = loadavg();
  const caches = cacheGeometry();
  console.log(`Machine: ${machineLine}; ${valgrind}; ${caches ? `simulated caches: ${describeCaches(caches)}` : 'caches unknown: instructions only'}; load ${loadBefore}`);
  const measurements: WorkMeasurement[] = [];
  for (const kind of KINDS) {
    for (const tool of WORK_TOOLS) {
      for (const [size, plan] of Object.entries(PLANS[tool])) {
        const args = (count: number) => [kind, tool, size, String(plan.high), String(count)];
        // The two children run side by side: instruction counts do not depend on the machine's load.
        const [low, high] = await Promise.all([underCallgrind(args(plan.low), caches), underCallgrind(args(plan.high), caches)]);
        const m: WorkMeasurement = {
          kind,
          tool,
          size,
          bytes: high.answer.bytes,
          low: plan.low,
          high: plan.high,
          lowInstructions: low.instructions,
          highInstructions: high.instructions,
          ...(low.misses && high.misses ? { lowMisses: low.misses, highMisses: high.misses } : {}),
          ...(tool === 'driftlens' ? { reader: high.answer.reader } : {}),
        };
        measurements.push(m);
        const missLine = missesPerMb(m, 'l2');
        console.log(
          `  ${kind.padEnd(5)} ${size.padEnd(6)} ${tool.padEnd(9)} ${(perRun(m) / 1e6).toFixed(0)} M instructions per run, ${(perMb(m) / 1e6).toFixed(0)} M per MB` +
            (missLine === undefined ? '' : `, ${(missLine / 1e3).toFixed(0)} K L2 data misses per MB`),
        );
      }
    }
  }
  const run = endRun<WorkResults>('analysisWork', 'npm run bench:work', { machineLine, loadBefore }, started, { valgrind, ...(caches ? { caches: describeCaches(caches) } : {}), measurements });
  for (const [id, text] of Object.entries(renderAnalysisWork(saveRun(run)))) console.log(`\n<!-- ${id} -->\n${text}`);
}

// ---------------------------------------------------------------------------------------------
// Report

/** The sections of BENCHMARKS.md generated from a saved run (see bench/report.ts). */
export function renderAnalysisWork(run: SavedRun<WorkResults>): Record<string, string> {
  const { measurements } = run.results;
  const sizes = SIZE_LABELS.filter((size) => measurements.some((m) => m.size === size));
  const find: FindMeasurement = (kind, tool, size) => measurements.find((m) => m.kind === kind && m.tool === tool && m.size === size);
  const millions = (n: number) => (n / 1e6).toFixed(0);
  const table = [
    runLine(run) + ` Counted by ${run.results.valgrind} (callgrind).`,
    '',
    'Millions of instructions per MB of YAML (per analysis, or per `JSON.parse` of the same data as JSON), from the difference of two children that analyse a different number of changed documents, with V8 in its predictable mode:',
    '',
    ...sizeTable(sizes, find, (m) => `${millions(perMb(m))} (${m.high - m.low} runs)`),
  ];
  const targets = KINDS.map((kind) => {
    const rows = sizes.map((size) => find(kind, 'driftlens', size)).filter((m): m is WorkMeasurement => !!m);
    const json = sizes.map((size) => find(kind, 'jsonparse', size)).filter((m): m is WorkMeasurement => !!m);
    if (rows.length < 2) return `- **Linear work to 8 MB, ${KIND_LABELS[kind]} documents: not measured.**`;
    const costs = rows.map(perMb);
    const spread = Math.max(...costs) / Math.min(...costs);
    const engine = json.length === rows.length ? ` \`JSON.parse\` of the same data: ${json.map((m) => millions(perMb(m))).join(', ')} million (largest / smallest ${(Math.max(...json.map(perMb)) / Math.min(...json.map(perMb))).toFixed(2)}x).` : '';
    return (
      `- **Linear work to 8 MB, ${KIND_LABELS[kind]} documents: ${rows.length < SIZE_LABELS.length ? 'not measured at every size' : spread <= LINEAR_WITHIN ? 'met' : 'not met'}.** From ${sizeLabel(rows[0].bytes)} to ${sizeLabel(rows[rows.length - 1].bytes)} an analysis runs ` +
      `${costs.map((c) => millions(c)).join(', ')} million instructions per MB (largest / smallest ${spread.toFixed(2)}x; within ${LINEAR_WITHIN}x counts as linear), reader \`${[...new Set(rows.map((m) => m.reader))].join('`, `')}\`.` +
      engine
    );
  });
  return { 'analysis-work-table': table.join('\n'), 'analysis-work-targets': targets.join('\n'), 'analysis-work-misses': renderMisses(run, sizes, find) };
}

type FindMeasurement = (kind: DocumentKind, tool: WorkTool, size: string) => WorkMeasurement | undefined;

/** A Markdown table, a row per size and a column per (kind, tool); `cell` undefined or no measurement: "–". */
function sizeTable(sizes: string[], find: FindMeasurement, cell: (m: WorkMeasurement) => string | undefined): string[] {
  const columns = KINDS.flatMap((kind) => WORK_TOOLS.map((tool) => ({ kind, tool })));
  return [
    `| size | ${columns.map(({ kind, tool }) => `${TOOL_LABELS[tool]}, ${KIND_LABELS[kind]}`).join(' | ')} |`,
    `|---|${columns.map(() => '---:').join('|')}|`,
    ...sizes.map((size) => {
      const first = columns.map(({ kind, tool }) => find(kind, tool, size)).find((m) => m);
      const cells = columns.map(({ kind, tool }) => {
        const m = find(kind, tool, size);
        return (m && cell(m)) ?? '–';
      });
      return `| ${first ? sizeLabel(first.bytes) : size} | ${cells.join(' | ')} |`;
    }),
  ];
}

/** The simulated cache misses beside the instructions: where a rise in time per MB comes from. */
function renderMisses(run: SavedRun<WorkResults>, sizes: string[], find: FindMeasurement): string {
  const { caches } = run.results;
  if (!caches) return 'Not simulated in this run (the cache geometry could not be read from /sys/devices/system/cpu/cpu0/cache).';
  const thousands = (n: number) => Math.round(n / 1e3).toLocaleString('en-US');
  const table = [
    `Thousands of data reads and writes per MB of YAML that missed the simulated L1 data cache / the L2 behind it (${caches}), from the same children as the instruction counts:`,
    '',
    ...sizeTable(sizes, find, (m) => {
      const l1 = missesPerMb(m, 'l1');
      const l2 = missesPerMb(m, 'l2');
      return l1 === undefined || l2 === undefined ? undefined : `${thousands(l1)} / ${thousands(l2)}`;
    }),
    '',
  ];
  for (const kind of KINDS) {
    const rows = sizes.map((size) => find(kind, 'driftlens', size)).filter((m): m is WorkMeasurement => !!m && missesPerMb(m, 'l2') !== undefined);
    if (rows.length < 2) continue;
    const [first, last] = [rows[0], rows[rows.length - 1]];
    const growth = (f: (m: WorkMeasurement) => number) => (f(last) / f(first)).toFixed(2);
    table.push(
      `- **DriftLens, ${KIND_LABELS[kind]} documents**, from ${sizeLabel(first.bytes)} to ${sizeLabel(last.bytes)} per MB: instructions ${growth(perMb)}x, ` +
        `L1 data misses ${growth((m) => missesPerMb(m, 'l1')!)}x, L2 data misses ${growth((m) => missesPerMb(m, 'l2')!)}x.`,
    );
  }
  return table.join('\n');
}

if (process.argv[2] === '--child' && require.main === module) {
  try {
    child(process.argv[3] as DocumentKind, process.argv[4] as WorkTool, process.argv[5], Number(process.argv[6]), Number(process.argv[7]));
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
} else if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
