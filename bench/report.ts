/**
 * Rewrites the generated sections of BENCHMARKS.md from the raw results in bench/results/*.json:
 * everything between `<!-- generated:<id> -->` and `<!-- /generated -->`. The tables, and every
 * number the text quotes, live in those sections, so the text cannot contradict its tables.
 *
 *   node out/bench/report.js           rewrite BENCHMARKS.md (npm run bench:report)
 *   node out/bench/report.js --check   exit 1 if BENCHMARKS.md is not what the results give
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { renderActivation } from './activation.bench';
import { renderAnalysisWork } from './analysisWork.bench';
import { renderAuthoring } from './authoring.bench';
import { renderCapacity } from './capacity.bench';
import { renderFleet } from './fleet.bench';
import { renderExtensionHostLag } from './extensionHostLag';
import { renderConvergence } from './convergence.bench';
import { renderPublish } from './publish.bench';
import { renderReplicaWatch } from './replicaWatch.bench';
import { renderVerify } from './verify.bench';
import { loadRun, resultsFile, ROOT, type SavedRun } from './results';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const BENCHES: { bench: string; render: (run: SavedRun<any>) => Record<string, string> }[] = [
  { bench: 'authoring', render: renderAuthoring },
  { bench: 'analysisWork', render: renderAnalysisWork },
  { bench: 'activation', render: renderActivation },
  { bench: 'extensionHostLag', render: renderExtensionHostLag },
  { bench: 'publish', render: renderPublish },
  { bench: 'convergence', render: renderConvergence },
  { bench: 'replicaWatch', render: renderReplicaWatch },
  { bench: 'verify', render: renderVerify },
  { bench: 'fleet', render: renderFleet },
  { bench: 'capacity', render: (run) => renderCapacity(run) },
];

/** Sections whose id starts with this go to README.md (prose that quotes measured numbers), the others to BENCHMARKS.md. */
const README_PREFIX = 'readme-';

const SECTION = /<!-- generated:([\w-]+) -->\n[\s\S]*?<!-- \/generated -->/g;

/** The document with every generated section rewritten from the results under `root`. */
export function generateBenchmarks(markdown: string, root = ROOT): string {
  return generate(markdown, root, (id) => !id.startsWith(README_PREFIX), 'BENCHMARKS.md');
}

/** README.md with its generated sections (the `readme-` ones) rewritten from the results. */
export function generateReadme(markdown: string, root = ROOT): string {
  return generate(markdown, root, (id) => id.startsWith(README_PREFIX), 'README.md');
}

function generate(markdown: string, root: string, wanted: (id: string) => boolean, documentName: string): string {
  const sections = new Map<string, { text: string; bench: string }>();
  for (const { bench, render } of BENCHES) {
    if (!existsSync(resultsFile(bench, root))) continue;
    for (const [id, text] of Object.entries(render(loadRun(bench, root)))) if (wanted(id)) sections.set(id, { text, bench });
  }
  const used = new Set<string>();
  const out = markdown.replace(SECTION, (_match, id: string) => {
    const section = sections.get(id);
    if (!section) throw new Error(`${documentName} has a generated section "${id}" but no results give it: run npm run bench`);
    used.add(id);
    return `<!-- generated:${id} -->\n${section.text}\n<!-- /generated -->`;
  });
  const unused = [...sections.keys()].filter((id) => !used.has(id));
  if (unused.length) throw new Error(`${documentName} has no place for the generated section(s) ${unused.join(', ')}: add <!-- generated:${unused[0]} --> <!-- /generated -->`);
  return out;
}

function main(): void {
  for (const [name, generator] of [['BENCHMARKS.md', generateBenchmarks], ['README.md', generateReadme]] as const) {
    const file = path.join(ROOT, name);
    const current = readFileSync(file, 'utf8');
    const generated = generator(current);
    if (process.argv.includes('--check')) {
      if (generated !== current) {
        console.error(`${name} differs from what bench/results/*.json give: run npm run bench:report`);
        process.exitCode = 1;
      }
      continue;
    }
    if (generated !== current) writeFileSync(file, generated);
    console.log(`${name} ${generated === current ? 'already matches' : 'rewritten from'} bench/results/*.json`);
  }
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
  }
}
