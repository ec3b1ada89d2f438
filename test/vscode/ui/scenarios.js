#!/usr/bin/env node
'use strict';
// UI scenarios in the real workbench, driven as a person would (keyboard, palette, clicks).
// Each scenario saves a screenshot to the artifacts folder (git-ignored); a failing step saves
// one too, plus the workbench logs. Prints "ui: N passed, N failed" last.
//
//   node test/vscode/ui/scenarios.js [--artifacts <dir>]
//
// Publishing scenarios need DRIFTLENS_TEST_REDIS_URL and DRIFTLENS_TEST_NATS_URL (test-all.sh sets them).

const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { startWorkbench } = require('../launcher/workbench');

const ROOT = path.resolve(__dirname, '..', '..', '..');

async function main() {
  const { values } = parseArgs({ options: { artifacts: { type: 'string' } } });
  const artifacts = path.resolve(values.artifacts ?? path.join(ROOT, 'test-results', 'ui', new Date().toISOString().replace(/[:.]/g, '-')));
  fs.mkdirSync(artifacts, { recursive: true });
  // A scratch copy: scenarios may leave editor state, never changes in the repository.
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-ui-ws-'));
  fs.cpSync(path.join(ROOT, 'test/vscode/workspace'), workspace, { recursive: true });
  const servers = { redisUrl: process.env.DRIFTLENS_TEST_REDIS_URL, natsUrl: process.env.DRIFTLENS_TEST_NATS_URL };
  const scenarios = [...require('./authoring'), ...(servers.redisUrl && servers.natsUrl ? [...require('./publish'), ...require('./replicas')] : [])];
  if (!servers.redisUrl) console.log('  (no DRIFTLENS_TEST_REDIS_URL: publishing scenarios not run)');
  const userSettings = servers.redisUrl ? { 'driftlens.redis.url': servers.redisUrl, 'driftlens.nats.servers': [servers.natsUrl] } : {};
  const workbench = await startWorkbench({ workspaceFolder: workspace, extensionDevelopmentPath: ROOT, artifactsDir: artifacts, userSettings });
  let passed = 0;
  let failed = 0;
  try {
    for (const [i, scenario] of scenarios.entries()) {
      const started = Date.now();
      try {
        const cleanups = [];
        try {
          await scenario.run({ page: workbench.page, workspace, servers, shot: (name) => workbench.screenshot(name), onCleanup: (f) => cleanups.push(f) });
        } finally {
          for (const f of cleanups.reverse()) await f().catch(() => {});
        }
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
