'use strict';
// UI scenario: typing in an 8 MB config document (analysed in the worker) as a person types.

const fs = require('fs');
const path = require('path');
const { openFile, runCommand, waitForText, showProblems } = require('../launcher/ui');

const ROOT = path.resolve(__dirname, '..', '..', '..');
// Compiled by test-all.sh before the UI layer runs (the in-host suite opens the same document).
const { largeConfigDocument } = require(path.join(ROOT, 'out/test/support/largeConfig'));

module.exports = [
  {
    name: 'typing in an 8 MB config document: the typed version gets its own diagnostic',
    async run({ page, shot, workspace, onCleanup }) {
      const { text } = largeConfigDocument(8_000_000);
      const relative = 'large/cfg.system.large.yaml';
      fs.mkdirSync(path.join(workspace, 'large'), { recursive: true });
      fs.writeFileSync(path.join(workspace, relative), text);
      onCleanup(async () => {
        // Leave nothing dirty behind for later scenarios.
        await page.keyboard.press('Escape');
        await openFile(page, relative);
        await runCommand(page, 'View: Revert and Close Editor');
      });
      // A pool in the middle of the document: the scenario adds a key it does not know under it.
      const pools = text.indexOf('\n  pools:\n');
      const mid = text.indexOf('      requires: []\n', pools + Math.floor((text.length - pools) / 2));
      const line = text.slice(0, mid).split('\n').length; // 1-based line of that "requires: []"
      await openFile(page, relative, { timeoutMs: 60e3 });
      await page.keyboard.press('Control+G');
      await page.keyboard.type(String(line));
      // Enter only once the widget offers that line, and type only once it is gone (else it gets the keys).
      await waitForText(page, '.quick-input-widget', `go to line ${line}`, { timeoutMs: 10e3, what: `Go to Line offering line ${line}` });
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10e3 });
      await page.keyboard.press('End');
      await page.keyboard.press('Enter'); // the editor indents the new line as the one above
      // Only the last keystroke (the colon) makes the line a key: no earlier version says "x_typed_key".
      await page.keyboard.type('x_typed_key:', { delay: 120 });
      await shot('20-large-typed');
      await showProblems(page, { timeoutMs: 30e3 });
      // The Problems list shows only the rows that fit, and other files' problems come first: filter
      // to the typed key so its row is shown (and clear the filter after, for later scenarios).
      const filter = page.getByPlaceholder(/^Filter \(e\.g\. text/).first();
      await filter.fill('x_typed_key');
      onCleanup(async () => {
        await showProblems(page, { timeoutMs: 30e3 });
        await filter.fill('');
      });
      await waitForText(page, '.markers-panel', 'Unknown property "x_typed_key"', { timeoutMs: 90e3, what: 'the diagnostic of the typed version in the Problems panel' });
      await waitForText(page, '.markers-panel', `[Ln ${line + 1}, Col 7]`, { timeoutMs: 10e3, what: `the diagnostic at line ${line + 1}` });
      await shot('21-large-typed-diagnostic');
    },
  },
];
