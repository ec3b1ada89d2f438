import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { scratchWorkspace } from '../vscode/runElectron';
import { suiteFiles } from '../vscode/suite/index';
import { ROOT } from './helpers';

test('the in-host suite runs every *.test.js in its folder, a new one included, and nothing else', () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'dl-suite-'));
  for (const name of ['replicas.test.js', 'a-new-one.test.js', 'waitFor.js', 'index.js', 'publish.test.js.map']) writeFileSync(path.join(folder, name), '');
  assert.deepEqual(suiteFiles(folder), ['a-new-one.test.js', 'replicas.test.js']);
  // And the real folder: every suite source file is picked up once compiled.
  const sources = readdirSync(path.join(ROOT, 'test/vscode/suite')).filter((f) => f.endsWith('.test.ts')).map((f) => f.replace(/\.ts$/, '.js'));
  assert.deepEqual(suiteFiles(path.join(ROOT, 'out/test/vscode/suite')), sources.sort());
});

test('the @vscode/test-electron launcher runs in a scratch copy of the workspace, not in test/vscode/workspace', () => {
  const workspace = scratchWorkspace(ROOT);
  const original = path.join(ROOT, 'test/vscode/workspace');
  assert.notEqual(path.resolve(workspace), path.resolve(original));
  assert.ok(!path.resolve(workspace).startsWith(ROOT + path.sep));
  for (const file of readdirSync(original, { recursive: true }) as string[]) assert.ok(existsSync(path.join(workspace, file)), file);
});
