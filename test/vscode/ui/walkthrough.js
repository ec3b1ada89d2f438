'use strict';
// UI scenarios of the first five minutes: the walkthrough as a person meets it (Welcome: Open
// Walkthrough…, the starter document created beside it, the connection step), and the scheduler
// section's lens. No servers needed.

const fs = require('fs');
const path = require('path');
const { runCommand, openFile, waitForText, waitVisible } = require('../launcher/ui');

const WALKTHROUGH = 'Get Started with DriftLens';

/** The step button of the open walkthrough whose title is `title`. */
function step(page, title) {
  return page.locator('.gettingStartedContainer .getting-started-step').filter({ hasText: title }).first();
}

/**
 * Waits until a step's media shows `text`: markdown media render in a webview (an iframe with
 * the content in its own inner frame), outside the walkthrough's DOM.
 */
async function waitForMedia(page, text, timeoutMs = 15e3) {
  const media = page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame').first();
  await media.getByText(text).first().waitFor({ timeout: timeoutMs })
    .catch((e) => { throw new Error(`the step's media did not show "${text}": ${e.message.split('\n')[0]}`); });
}

module.exports = [
  {
    name: 'the walkthrough: open it, create the starter config beside it, see the connection step',
    async run({ page, shot, workspace, onCleanup }) {
      // A workspace without a config document yet (the fixture's is put back afterwards).
      const config = path.join(workspace, 'cfg.system.default.yaml');
      const original = fs.readFileSync(config);
      fs.rmSync(config);
      onCleanup(async () => fs.writeFileSync(config, original));
      await runCommand(page, 'View: Close All Editors');
      // The whole editor area for the walkthrough, as on a first start.
      // (In a first-run workbench no panel is open, and the palette then offers no "Hide Panel".)
      if (await page.locator('.part.panel').isVisible()) await runCommand(page, 'View: Hide Panel');

      await runCommand(page, 'Welcome: Open Walkthrough...');
      await waitForText(page, '.quick-input-widget .monaco-list-row', WALKTHROUGH, { timeoutMs: 15e3, what: 'our walkthrough in the picker' });
      await page.keyboard.type('DriftLens');
      await page.keyboard.press('Enter');
      await waitForText(page, '.gettingStartedContainer', WALKTHROUGH, { timeoutMs: 20e3, what: 'the walkthrough page' });
      await waitVisible(step(page, 'Open or create your config'), 'the first step', 10e3);
      // The first step is open with its media: the markdown explaining config documents.
      await waitVisible(page.getByRole('button', { name: 'Create Starter Config' }).first(), 'the Create Starter Config button', 10e3);
      await waitForMedia(page, 'A config document, checked as you type');
      await shot('walkthrough-01-open');

      // The connection step: settings buttons, and what goes where (passwords in secret storage).
      await step(page, 'Set the connection').click();
      await waitVisible(page.getByRole('button', { name: 'Set Redis URL' }).first(), 'the Set Redis URL button', 10e3);
      await waitForMedia(page, 'Passwords never go into settings.');
      await shot('walkthrough-02-connect');

      await step(page, 'Watch the replicas').click();
      await waitVisible(page.getByRole('button', { name: 'Show Replicas' }).first(), 'the Show Replicas button', 10e3);
      await waitForMedia(page, 'Every replica, and the hash it runs');
      await shot('walkthrough-03-watch');

      // Back to the first step: create the starter, which opens beside the walkthrough.
      await step(page, 'Open or create your config').click();
      const policyFile = path.join(workspace, 'drift-policy.yaml');
      const policyBefore = fs.readFileSync(policyFile, 'utf8');
      await page.getByRole('button', { name: 'Create Starter Config' }).first().click();
      // What a person sees on screen and finds on disk. (Its message only lights the bell in this
      // headless first-run workbench, where the notification center did not list it reliably.)
      await waitVisible(page.locator('.tabs-container .tab').filter({ hasText: 'cfg.system.default.yaml' }).first(), 'the starter document tab', 15e3);
      await waitForText(page, '.monaco-editor .codelens-decoration', 'pools sha256', { timeoutMs: 30e3, what: 'the pools hash lens on the starter' });
      await waitForText(page, '.monaco-editor .codelens-decoration', 'timeouts sha256', { timeoutMs: 10e3, what: 'the timeouts hash lens on the starter' });
      if (fs.readFileSync(policyFile, 'utf8') !== policyBefore) throw new Error('the existing drift policy was changed');
      const created = fs.readFileSync(config, 'utf8');
      if (!created.startsWith('# A starter runtime config document')) throw new Error(`the starter was not written: ${created.slice(0, 80)}`);
      // The step is done: its checkbox is ticked.
      await page.waitForFunction(
        () => [...document.querySelectorAll('.gettingStartedContainer .getting-started-step')].some((s) => s.textContent.includes('Open or create your config') && s.querySelector('.codicon.complete')),
        null,
        { timeout: 15e3 },
      ).catch((e) => { throw new Error(`the first step was not marked done: ${e.message}`); });
      await page.mouse.move(1, 1);
      await shot('walkthrough-04-starter-beside');
      await runCommand(page, 'View: Close All Editors');
    },
  },
  {
    name: 'the scheduler lens says it is not hash-gated, with the why on hover',
    async run({ page, shot }) {
      await runCommand(page, 'View: Close All Editors');
      await openFile(page, 'cfg.system.default.yaml');
      // The section is at the end of the file: lenses render only for lines in view.
      await page.keyboard.press('Control+End');
      await waitForText(page, '.monaco-editor .codelens-decoration', 'scheduler: not hash-gated, re-applied on every reload', { timeoutMs: 30e3, what: 'the scheduler lens' });
      const lens = page.locator('.monaco-editor .codelens-decoration span[title]').filter({ hasText: 'scheduler: not hash-gated' }).first();
      const tooltip = await lens.getAttribute('title');
      if (!/every reload \(each poll and each sys\.config\.changed notification\)/.test(tooltip || '') || !/A key left out is not reset/.test(tooltip || '')) {
        throw new Error(`the scheduler lens tooltip does not explain itself: ${tooltip}`);
      }
      await shot('scheduler-lens');
    },
  },
];
