import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { generateBenchmarks, generateReadme } from '../../bench/report';
import { ROOT } from './helpers';

const document = readFileSync(path.join(ROOT, 'BENCHMARKS.md'), 'utf8');

test('BENCHMARKS.md is exactly what the committed bench/results/*.json give (npm run bench:report)', () => {
  assert.equal(generateBenchmarks(document), document);
});

test('README.md quotes the capacity model exactly as the committed bench/results/capacity.json gives it (issue 12)', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  assert.match(readme, /<!-- generated:readme-capacity -->/);
  assert.equal(generateReadme(readme), readme);
});

test('a number edited by hand in a generated table is put back by the generator', () => {
  const table = /<!-- generated:authoring-table -->\n[\s\S]*?\| (\d+(?:\.\d+)?) ms \(/.exec(document);
  assert.ok(table, 'the authoring table has a DriftLens median');
  const edited = document.replace(`| ${table[1]} ms (`, '| 0.01 ms (');
  assert.notEqual(edited, document);
  assert.equal(generateBenchmarks(edited), document);
});

test('a generated section without results, or results without a place in the document, is an error', () => {
  assert.throws(() => generateBenchmarks(document + '\n<!-- generated:nobody -->\n<!-- /generated -->\n'), /"nobody" but no results give it/);
  const withoutTargets = document.replace(/<!-- generated:authoring-targets -->\n[\s\S]*?<!-- \/generated -->/, '');
  assert.throws(() => generateBenchmarks(withoutTargets), /no place for the generated section\(s\) authoring-targets/);
});
