/**
 * The two YAML readers side by side, on Cordum-shaped documents of 50 KB and 1 MB:
 *   - "plain": block mappings, one-line scalars and flow lists (the subset the fast reader always read),
 *   - "rich": the same data written with every construct the fast reader now covers: `%YAML 1.2`,
 *     `---`/`...`, comments everywhere, anchors and aliases, literal and folded block scalars,
 *     multi-line plain and quoted scalars, flow maps and sequences across lines, core tags.
 * It times `parseYamlFast` and `parseYamlComplete` (the `yaml` path) on a changed text each run,
 * and, with DRIFTLENS_BEFORE=<compiled tree of an older checkout>, that checkout's fast reader too.
 *
 * Run: `npm run compile-tests && node out/bench/yamlReaders.bench.js`. Prints a table; saves nothing
 * (the authoring benchmark holds the numbers BENCHMARKS.md shows).
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseYamlFast } from '../src/core/fastYaml';
import { parseYamlComplete } from '../src/core/yamlCompose';

type Reader = (text: string) => unknown;

function plainTeam(n: number, run: number): string {
  return `    job.team-${n}.process: pool-${n}${n === 7 ? `-r${run}` : ''}\n    job.team-${n}.review: [pool-${n}, pool-shared]\n`;
}

export function plainDocument(target: number, run: number): string {
  let topics = '';
  let pools = '';
  for (let n = 0; topics.length + pools.length < target; n++) {
    topics += plainTeam(n, run);
    pools += `    pool-${n}:\n      requires: [gpu, linux]\n      status: active\n      description: "Pool ${n} runs team ${n}'s jobs"\n`;
  }
  return `pools:\n  topics:\n${topics}  pools:\n${pools}timeouts:\n  default: 30s\n`;
}

export function richDocument(target: number, run: number): string {
  let topics = '';
  let pools = '';
  for (let n = 0; topics.length + pools.length < target; n++) {
    topics += `    # team ${n}\n    job.team-${n}.process: pool-${n}${n === 7 ? `-r${run}` : ''}\n    job.team-${n}.review: [pool-${n},\n      pool-shared]   # both\n`;
    pools +=
      `    pool-${n}: &pool${n}\n` +
      (n % 50 === 0 ? `      requires: *requires\n` : `      requires: [gpu,\n        linux]\n`) +
      `      status: !!str active\n` +
      `      labels: {tier: gold, region: "eu-west-1",\n        zone: b}\n` +
      `      description: >-\n        Pool ${n} runs the jobs\n        of team ${n}.\n\n        Ask the owners first.\n` +
      `      runbook: |\n        1. drain\n        2. restart\n` +
      `      owner: "Team ${n},\n        platform"\n` +
      `      summary: a plain scalar\n        over two lines\n` +
      // A few aliases: `yaml` resolves each alias by a walk from the document's start, so one per
      // pool makes its time quadratic (2.4 s at 64 KB, 19 s at 256 KB here); the fast reader's is not.
      (n % 50 === 49 ? `    pool-${n}-copy: *pool${n - 1}\n` : '');
  }
  return `%YAML 1.2\n--- # runtime config\ndefaults:\n  requires: &requires [gpu, linux]\npools:\n  topics:\n${topics}  pools:\n${pools}timeouts:\n  default: 30s\n...\n`;
}

/**
 * Median time of each reader over `runs` changed texts. The readers take turns on each text (in a
 * rotating order), so that load on the machine and the heap's state weigh on all of them alike.
 * A reader in `few` stops after 5 texts (the `yaml` path needs seconds per megabyte).
 */
function timeAll(readers: [string, Reader][], make: (run: number) => string, runs: number, few: Set<string>): number[] {
  const samples: number[][] = readers.map(() => []);
  const gaveUp = readers.map(() => false);
  for (let run = 0; run < runs + 2; run++) {
    const text = make(run);
    for (let k = 0; k < readers.length; k++) {
      const i = (k + run) % readers.length;
      const [name, reader] = readers[i];
      if (gaveUp[i] || (few.has(name) && run >= 5 + 2)) continue;
      const started = performance.now();
      const result = reader(text);
      const elapsed = performance.now() - started;
      if (result === undefined) gaveUp[i] = true; // the reader gave up on this document
      else if (run >= 2) samples[i].push(elapsed);
    }
  }
  return samples.map((times, i) => {
    if (gaveUp[i]) return NaN;
    times.sort((a, b) => a - b);
    return times[times.length >> 1];
  });
}

function main(): void {
  const readers: [string, Reader][] = [
    ['fast reader', parseYamlFast],
    ['yaml path', parseYamlComplete],
  ];
  const before = process.env.DRIFTLENS_BEFORE;
  if (before) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const old = require(path.resolve(before, 'src/core/fastYaml.js')) as { parseYamlFast: Reader };
    readers.unshift(['fast reader (before)', old.parseYamlFast]);
  }
  console.log('| document | size | ' + readers.map(([name]) => name).join(' | ') + ' | yaml / fast |');
  console.log('|---|---|' + readers.map(() => '---|').join('') + '---|');
  for (const [kind, make] of [['plain', plainDocument], ['rich', richDocument]] as const) {
    for (const [label, target, runs] of [['50 KB', 50 * 1024, 41], ['1 MB', 1024 * 1024, 11]] as const) {
      const medians = timeAll(readers, (run) => make(target, run), runs, new Set(target > 100_000 ? ['yaml path'] : []));
      const size = (make(target, 0).length / 1024).toFixed(0);
      const fast = medians[readers.length - 2];
      const yaml = medians[readers.length - 1];
      console.log(`| ${kind} | ${label} (${size} KB) | ` + medians.map((m) => (Number.isNaN(m) ? 'gives up' : `${m.toFixed(2)} ms`)).join(' | ') + ` | ${(yaml / fast).toFixed(1)}x |`);
    }
  }
}

if (require.main === module) main();
