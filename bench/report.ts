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
import { renderAuthoring } from './authoring.bench';
import { renderExtensionHostLag } from './extensionHostLag';
import { renderConvergence } from './convergence.bench';
import { renderPublish } from './publish.bench';
import { renderReplicaWatch } from './replicaWatch.bench';
import { renderVerify } from './verify.bench';
import { loadRun, resultsFile, ROOT, type SavedRun } from './results';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const BENCHES: { bench: string; render: (run: SavedRun<any>) => Record<string, string> }[] = [
  { bench: 'authoring', render: renderAuthoring },
  { bench: 'activation', render: renderActivation },
  { bench: 'extensionHostLag', render: renderExtensionHostLag },
  { bench: 'publish', render: renderPublish },
  { bench: 'convergence', render: renderConvergence },
  { bench: 'replicaWatch', render: renderReplicaWatch },
  { bench: 'verify', render: renderVerify },
];

const SECTION = /<!-- generated:([\w-]+) -->\n[\s\S]*?<!-- \/generated -->/g;

/** The document with every generated section rewritten from the results under `root`. */
export function generateBenchmarks(markdown: string, root = ROOT): string {
  const sections = new Map<string, { text: string; bench: string }>();
  for (const { bench, render } of BENCHES) {
    if (!existsSync(resultsFile(bench, root))) continue;
    for (const [id, text] of Object.entries(render(loadRun(bench, root)))) sections.set(id, { text, bench });
  }
  const used = new Set<string>();
  const out = markdown.replace(SECTION, (_match, id: string) => {
    const section = sections.get(id);
    if (!section) throw new Error(`BENCHMARKS.md has a generated section "${id}" but no results give it: run npm run bench`);
    used.add(id);
    return `<!-- generated:${id} -->\n${section.text}\n<!-- /generated -->`;
  });
  const unused = [...sections.keys()].filter((id) => !used.has(id));
  if (unused.length) throw new Error(`BENCHMARKS.md has no place for the generated section(s) ${unused.join(', ')}: add <!-- generated:${unused[0]} --> <!-- /generated -->`);
  return out;
}

function main(): void {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const current = readFileSync(file, 'utf8');
  const generated = generateBenchmarks(current);
  if (process.argv.includes('--check')) {
    if (generated !== current) {
      console.error('BENCHMARKS.md differs from what bench/results/*.json give: run npm run bench:report');
      process.exitCode = 1;
    }
    return;
  }
  if (generated !== current) writeFileSync(file, generated);
  console.log(`BENCHMARKS.md ${generated === current ? 'already matches' : 'rewritten from'} bench/results/*.json`);
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
  }
}
