/**
 * How much work an analysis does per MB, counted in instructions rather than time: is it linear?
 *
 *   npm run bench:work      (valgrind's callgrind; about ten minutes; writes bench/results/analysisWork.json)
 *
 * Why a second measure: the authoring bench times the analysis in CPU ms per MB, and on this shared
 * machine (2 MB of L2 per core, an L3 shared with other tenants) the time per MB of *any* large
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
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
  /** Which reader answered (DriftLens only). */
  reader?: string;
}

export interface WorkResults {
  valgrind: string;
  measurements: WorkMeasurement[];
}

const perRun = (m: WorkMeasurement) => (m.highInstructions - m.lowInstructions) / (m.high - m.low);
const perMb = (m: WorkMeasurement) => perRun(m) / (m.bytes / MB);

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

function underCallgrind(args: string[]): Promise<{ instructions: number; answer: { bytes: number; reader: string } }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'driftlens-work-'));
  return new Promise((resolve, reject) => {
    const proc = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${path.join(dir, 'callgrind.out')}`, process.execPath, '--predictable', '--max-old-space-size=4096', __filename, '--child', ...args], {
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
      resolve({ instructions: Number(refs[1].replace(/,/g, '')), answer: JSON.parse(stdout.trim().split('\n').pop()!) });
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
  console.log(`Machine: ${machineLine}; ${valgrind}; load ${loadBefore}`);
  const measurements: WorkMeasurement[] = [];
  for (const kind of KINDS) {
    for (const tool of WORK_TOOLS) {
      for (const [size, plan] of Object.entries(PLANS[tool])) {
        const args = (count: number) => [kind, tool, size, String(plan.high), String(count)];
        // The two children run side by side: instruction counts do not depend on the machine's load.
        const [low, high] = await Promise.all([underCallgrind(args(plan.low)), underCallgrind(args(plan.high))]);
        const m: WorkMeasurement = {
          kind,
          tool,
          size,
          bytes: high.answer.bytes,
          low: plan.low,
          high: plan.high,
          lowInstructions: low.instructions,
          highInstructions: high.instructions,
          ...(tool === 'driftlens' ? { reader: high.answer.reader } : {}),
        };
        measurements.push(m);
        console.log(`  ${kind.padEnd(5)} ${size.padEnd(6)} ${tool.padEnd(9)} ${(perRun(m) / 1e6).toFixed(0)} M instructions per run, ${(perMb(m) / 1e6).toFixed(0)} M per MB`);
      }
    }
  }
  const run = endRun<WorkResults>('analysisWork', 'npm run bench:work', { machineLine, loadBefore }, started, { valgrind, measurements });
  for (const [id, text] of Object.entries(renderAnalysisWork(saveRun(run)))) console.log(`\n<!-- ${id} -->\n${text}`);
}

// ---------------------------------------------------------------------------------------------
// Report

/** The sections of BENCHMARKS.md generated from a saved run (see bench/report.ts). */
export function renderAnalysisWork(run: SavedRun<WorkResults>): Record<string, string> {
  const { measurements } = run.results;
  const sizes = SIZE_LABELS.filter((size) => measurements.some((m) => m.size === size));
  const find = (kind: DocumentKind, tool: WorkTool, size: string) => measurements.find((m) => m.kind === kind && m.tool === tool && m.size === size);
  const millions = (n: number) => (n / 1e6).toFixed(0);
  const columns = KINDS.flatMap((kind) => WORK_TOOLS.map((tool) => ({ kind, tool })));
  const table = [
    runLine(run) + ` Counted by ${run.results.valgrind} (callgrind).`,
    '',
    'Millions of instructions per MB of YAML (per analysis, or per `JSON.parse` of the same data as JSON), from the difference of two children that analyse a different number of changed documents, with V8 in its predictable mode:',
    '',
    `| size | ${columns.map(({ kind, tool }) => `${TOOL_LABELS[tool]}, ${KIND_LABELS[kind]}`).join(' | ')} |`,
    `|---|${columns.map(() => '---:').join('|')}|`,
    ...sizes.map((size) => {
      const first = columns.map(({ kind, tool }) => find(kind, tool, size)).find((m) => m);
      return `| ${first ? sizeLabel(first.bytes) : size} | ${columns
        .map(({ kind, tool }) => {
          const m = find(kind, tool, size);
          return m ? `${millions(perMb(m))} (${m.high - m.low} runs)` : '–';
        })
        .join(' | ')} |`;
    }),
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
  return { 'analysis-work-table': table.join('\n'), 'analysis-work-targets': targets.join('\n') };
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
