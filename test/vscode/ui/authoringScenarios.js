#!/usr/bin/env node
'use strict';
// UI scenarios in the real workbench, driven as a person would (keyboard, palette, clicks).
// Each scenario saves a screenshot to the artifacts folder (git-ignored); a failing step saves
// one too, plus the workbench logs. Prints "ui: N passed, N failed" last.
//
//   node test/vscode/ui/authoringScenarios.js [--artifacts <dir>]

const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { startWorkbench } = require('../launcher/workbench');
const { runCommand, openFile, waitForText, showProblems, waitVisible } = require('../launcher/ui');

const ROOT = path.resolve(__dirname, '..', '..', '..');

function cliHash(file, section) {
  return execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'hash', file, '--section', section], { encoding: 'utf8' }).trim().split(' ')[1];
}

const scenarios = [
  {
    name: 'a broken config shows squiggles and Problems entries',
    async run({ page, shot }) {
      await openFile(page, 'cfg.broken.yaml');
      await waitVisible(page.locator('.monaco-editor .squiggly-error').first(), 'an error squiggle in the editor', 30e3);
      await shot('01-squiggles');
      const rows = await showProblems(page);
      const text = rows.join('\n');
      for (const expected of ['"status" must be one of "active", "draining", "inactive"', 'Unknown property "scan_every"', '"_comment" is ignored by replicas']) {
        if (!text.includes(expected)) throw new Error(`Problems panel lacks "${expected}"; rows:\n${text}`);
      }
      await shot('02-problems');
    },
  },
  {
    name: 'the section hash lens shows the hash replicas compute',
    async run({ page, shot, workspace }) {
      await openFile(page, 'cfg.system.default.yaml');
      const pools = cliHash(path.join(workspace, 'cfg.system.default.yaml'), 'pools');
      await waitForText(page, '.monaco-editor .codelens-decoration', `pools sha256 ${pools.slice(0, 12)}`, { timeoutMs: 30e3, what: 'the pools hash lens' });
      await waitForText(page, '.monaco-editor .codelens-decoration', 'timeouts sha256', { timeoutMs: 10e3, what: 'the timeouts hash lens' });
      await shot('03-hash-lenses');
    },
  },
  {
    name: 'the palette explains a hash: pick a section, see its canonical bytes',
    async run({ page, shot }) {
      await openFile(page, 'cfg.system.default.yaml');
      await runCommand(page, 'DriftLens: Explain Section Hash (Show Canonical Bytes)');
      await waitForText(page, '.quick-input-widget .monaco-list-row', 'timeouts', { timeoutMs: 10e3, what: 'the section picker' });
      await shot('04-section-picker');
      await page.keyboard.type('timeouts');
      await page.keyboard.press('Enter');
      await waitVisible(page.locator('.tabs-container .tab').filter({ hasText: 'timeouts.canonical.json' }).first(), 'the timeouts.canonical.json tab', 15e3);
      await waitForText(page, '.monaco-editor .view-lines', '"reconciler"', { timeoutMs: 10e3, what: 'the canonical JSON text' });
      await shot('05-explain');
    },
  },
  {
    name: 'the palette copies a hash and says so in the status bar',
    async run({ page, shot }) {
      await openFile(page, 'config/pools.yaml');
      await runCommand(page, 'DriftLens: Copy Section Hash');
      await waitForText(page, '.statusbar', 'Copied pools hash', { timeoutMs: 10e3, what: 'the "Copied pools hash" status bar message' });
      await shot('06-copied');
    },
  },
];

async function main() {
  const { values } = parseArgs({ options: { artifacts: { type: 'string' } } });
  const artifacts = path.resolve(values.artifacts ?? path.join(ROOT, 'test-results', 'ui', new Date().toISOString().replace(/[:.]/g, '-')));
  fs.mkdirSync(artifacts, { recursive: true });
  // A scratch copy: scenarios may leave editor state, never changes in the repository.
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-ui-ws-'));
  fs.cpSync(path.join(ROOT, 'test/vscode/workspace'), workspace, { recursive: true });
  const workbench = await startWorkbench({ workspaceFolder: workspace, extensionDevelopmentPath: ROOT, artifactsDir: artifacts });
  let passed = 0;
  let failed = 0;
  try {
    for (const [i, scenario] of scenarios.entries()) {
      const started = Date.now();
      try {
        await scenario.run({ page: workbench.page, workspace, shot: (name) => workbench.screenshot(name) });
        passed++;
        console.log(`  ✔ ${scenario.name} (${Date.now() - started} ms)`);
      } catch (e) {
        failed++;
        console.log(`  ✘ ${scenario.name}\n      ${String(e && e.message).split('\n').join('\n      ')}`);
        await workbench.screenshot(`failed-${i + 1}`).catch(() => {});
        await workbench.collectLogs().catch(() => {});
        await workbench.page.keyboard.press('Escape').catch(() => {});
      }
    }
  } finally {
    await workbench.close();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
  console.log(`screenshots: ${artifacts}`);
  console.log(`ui: ${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}

main().catch((e) => {
  console.error(`ui: ${e && e.stack ? e.stack : e}`);
  process.exitCode = 1;
});
