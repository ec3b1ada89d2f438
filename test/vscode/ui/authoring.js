'use strict';
// UI scenarios of authoring: diagnostics, hash lenses, explain and copy from the palette.

const { execFileSync } = require('child_process');
const path = require('path');
const { runCommand, openFile, waitForText, showProblems, waitVisible } = require('../launcher/ui');

const ROOT = path.resolve(__dirname, '..', '..', '..');

function cliHash(file, section) {
  return execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'hash', file, '--section', section], { encoding: 'utf8' }).trim().split(' ')[1];
}

module.exports = [
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
