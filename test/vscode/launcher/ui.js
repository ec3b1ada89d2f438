'use strict';
// Helpers that drive the workbench page the way a person does (keyboard, palette, clicks).
// Every wait is bounded and its error names what was awaited, so a failing scenario says
// what it was looking at. Selectors are VS Code's own DOM classes (checked on 1.139).

const path = require('path');

const QUICK_INPUT = '.quick-input-widget';
const QUICK_INPUT_BOX = `${QUICK_INPUT} .quick-input-box input`;
const QUICK_ROW = '.quick-input-list .monaco-list-row';

function timeoutError(what, timeoutMs, cause) {
  const first = cause && cause.message ? `: ${cause.message.split('\n')[0]}` : '';
  return new Error(`timed out after ${timeoutMs} ms waiting for ${what}${first}`);
}

/** Waits until `locator` is visible; on timeout throws an error that names `what`. */
async function waitVisible(locator, what, timeoutMs) {
  try {
    await locator.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch (e) {
    throw timeoutError(what, timeoutMs, e);
  }
  return locator;
}

/** Waits for an element matching `selector` whose text contains `text` (string or RegExp). */
async function waitForText(page, selector, text, { timeoutMs = 15e3, what } = {}) {
  const loc = page.locator(selector).filter({ hasText: text }).first();
  await waitVisible(loc, what || `${selector} containing ${JSON.stringify(String(text))}`, timeoutMs);
  return loc;
}

/** Opens the quick input with `key`, types `value`, and waits for a row containing `rowText`.
 *  Returns the row locator, or null if no such row appeared within rowTimeoutMs. */
async function quickInputRow(page, key, value, rowText, rowTimeoutMs) {
  await page.keyboard.press('Escape'); // close whatever quick input / hover is open
  await page.keyboard.press(key);
  const box = page.locator(QUICK_INPUT_BOX);
  await waitVisible(box, `the quick input box after pressing ${key}`, 10e3);
  await box.fill(value);
  // Prefer an exact label match ("Category: Title" rows contain the title too).
  const rows = page.locator(QUICK_ROW).filter({ hasText: rowText });
  try {
    await rows.first().waitFor({ state: 'visible', timeout: rowTimeoutMs });
  } catch {
    return null;
  }
  const exact = rows.filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRe(rowText)}\\s*$`) }) });
  return (await exact.count()) ? exact.first() : rows.first();
}

function escapeRe(s) { return String(s).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

/** Accepts a quick input row: Enter when it is the focused one (what a person does), else click it. */
async function acceptRow(page, row) {
  const focused = /\bfocused\b/.test((await row.getAttribute('class')) || '');
  if (focused) await page.keyboard.press('Enter');
  else await row.click();
}

/**
 * Runs a command from the palette by its title as shown there (e.g. "DriftLens: Show Log").
 * Right after start-up the command may not be registered yet, so it retries until timeoutMs.
 */
async function runCommand(page, title, { timeoutMs = 30e3 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    const row = await quickInputRow(page, 'F1', `>${title}`, title, Math.min(3000, Math.max(left, 500)));
    if (row) {
      await acceptRow(page, row);
      // Done when the palette no longer shows our query (it closed, or the command opened its own input).
      try {
        await page.waitForFunction(
          ([sel, q]) => { const el = document.querySelector(sel); return !el || el.offsetParent === null || el.value !== q; },
          [QUICK_INPUT_BOX, `>${title}`], { timeout: 5000 });
      } catch (e) {
        throw timeoutError(`the command palette to accept "${title}"`, 5000, e);
      }
      return;
    }
    if (Date.now() >= deadline) {
      await page.keyboard.press('Escape');
      throw new Error(`timed out after ${timeoutMs} ms waiting for command "${title}" to appear in the command palette`);
    }
  }
}

/**
 * Opens a workspace file with Quick Open (Ctrl+P) and waits for its editor tab to be active.
 * The file index may lag behind start-up, so the search is retried until timeoutMs.
 */
async function openFile(page, relativePath, { timeoutMs = 30e3 } = {}) {
  const name = path.basename(relativePath);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    const row = await quickInputRow(page, 'Control+P', relativePath, name, Math.min(3000, Math.max(left, 500)));
    if (row) {
      await acceptRow(page, row);
      break;
    }
    if (Date.now() >= deadline) {
      await page.keyboard.press('Escape');
      throw new Error(`timed out after ${timeoutMs} ms waiting for Quick Open to list ${relativePath}`);
    }
  }
  const tab = page.locator('.tabs-container .tab.active').filter({ hasText: name }).first();
  await waitVisible(tab, `the active editor tab "${name}"`, Math.max(5000, deadline - Date.now()));
  return tab;
}

/** Shows the Problems panel and returns its rows' accessible text ([] when there are none). */
async function showProblems(page, { timeoutMs = 15e3 } = {}) {
  // A "focus" command, not Ctrl+Shift+M: that one toggles and would hide an open panel.
  await runCommand(page, 'Problems: Focus on Problems View', { timeoutMs });
  const panel = page.locator('.markers-panel');
  await waitVisible(panel, 'the Problems panel (.markers-panel)', timeoutMs);
  return panel.locator('.monaco-list-row').evaluateAll((rows) =>
    rows.map((r) => r.getAttribute('aria-label') || r.textContent.trim()));
}

/**
 * Returns the messages of the notifications: visible toasts, plus the notification center,
 * because info messages often only light the bell (no toast) in this headless browser.
 * Leaves the center closed. With `expect` (string or RegExp), first waits until a message
 * containing it is listed: messages from the extension host arrive after the command returns.
 */
async function readNotifications(page, { expect, timeoutMs = 15e3 } = {}) {
  const texts = new Set();
  const grab = async (sel) => {
    for (const t of await page.locator(sel).allTextContents()) if (t.trim()) texts.add(t.trim());
  };
  await grab('.notification-toast .notification-list-item-message');
  const center = page.locator('.notifications-center');
  await runCommand(page, 'Notifications: Show Notifications', { timeoutMs });
  try {
    await waitVisible(center, 'the notification center', timeoutMs);
    if (expect !== undefined) {
      // The open center lists new notifications live, so waiting here sees late arrivals too.
      await waitForText(page, '.notifications-center .notification-list-item-message', expect,
        { timeoutMs, what: `a notification containing ${JSON.stringify(String(expect))}` });
    }
    await grab('.notifications-center .notification-list-item-message');
  } finally {
    // "Hide Notifications" is not offered in the palette; Escape closes the focused center.
    await page.keyboard.press('Escape');
    await center.waitFor({ state: 'hidden', timeout: 5000 })
      .catch((e) => { throw timeoutError('the notification center to close after Escape', 5000, e); });
  }
  return [...texts];
}

/**
 * Clicks the activity bar item whose aria-label starts with `ariaLabel` (labels carry a
 * keybinding suffix, e.g. "Explorer (Ctrl+Shift+E)"). An item that is already open is not
 * clicked again, because a second click would hide its side bar.
 */
async function clickActivityBarItem(page, ariaLabel, { timeoutMs = 15e3 } = {}) {
  const item = page.locator('.activitybar .action-item')
    .filter({ has: page.locator(`.action-label[aria-label^="${ariaLabel.replace(/"/g, '\\"')}"]`) }).first();
  await waitVisible(item, `the activity bar item "${ariaLabel}"`, timeoutMs);
  if (!/\bchecked\b/.test((await item.getAttribute('class')) || '')) await item.click();
  try {
    await page.waitForFunction((el) => el.classList.contains('checked'), await item.elementHandle(), { timeout: timeoutMs });
  } catch (e) {
    throw timeoutError(`the activity bar item "${ariaLabel}" to become active`, timeoutMs, e);
  }
  return item;
}

module.exports = { runCommand, openFile, waitForText, showProblems, readNotifications, clickActivityBarItem, waitVisible };
