import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { analyzeDocument } from '../../src/core/analysis';
import { classifyDocument } from '../../src/core/classify';
import { ROOT } from './helpers';

// The walkthrough's starter documents (media/walkthrough/starter/): what a newcomer's first
// document and policy are, so they must be recognised and clean, as written and once edited.

const starter = (name: string) => readFileSync(path.join(ROOT, 'media/walkthrough/starter', name), 'utf8');

test('the starter config document is recognised as one and has no problems; pools and timeouts hash', () => {
  const text = starter('cfg.system.default.yaml');
  assert.equal(classifyDocument('cfg.system.default.yaml', text), 'config');
  const analysis = analyzeDocument(text, 'yaml', 'config');
  assert.deepEqual(analysis.problems, []);
  assert.deepEqual(analysis.sections.map((s) => [s.name, Boolean(s.hash)]), [['pools', true], ['timeouts', true]]);
  // Its scheduler example is commented out, so that publishing the starter changes no fail mode.
  assert.deepEqual(analysis.ungated, []);
});

test("the starter's commented scheduler example is valid once uncommented", () => {
  const text = starter('cfg.system.default.yaml').replace(/^  # (scheduler:|  \w+: \w+)$/gm, '  $1');
  const analysis = analyzeDocument(text, 'yaml', 'config');
  assert.deepEqual(analysis.problems, []);
  assert.deepEqual(analysis.ungated.map((s) => s.name), ['scheduler']);
  assert.deepEqual((analysis.data as { scheduler: unknown }).scheduler, { input_fail_mode: 'closed', output_fail_mode: 'closed', output_policy_enabled: true });
});

test('the starter drift policy is recognised and valid: Cordum defaults', () => {
  const text = starter('drift-policy.yaml');
  assert.equal(classifyDocument('drift-policy.yaml', text), 'policy');
  const analysis = analyzeDocument(text, 'yaml', 'policy');
  assert.deepEqual(analysis.problems, []);
  assert.equal(analysis.policy?.configKey, 'cfg:system:default');
  assert.equal(analysis.policy?.pollIntervalMs, 30_000);
});
