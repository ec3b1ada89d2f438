import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { open } from './editing';
import { loadedBundles, vscodeActivationTimes } from './activationTimes';
import { extensionHostLogEntries } from './hostLog';

// This file runs first (the suite runs its files in name order): nothing has opened a DriftLens
// document yet, so what is loaded is what activation and a plain YAML file cost.

const EXTENSION_ID = 'driftlens.driftlens';

suite('Activation', () => {
  test('a YAML file that is not a DriftLens document loads neither the features nor a dependency bundle and reads no navigator; a DriftLens document loads what it needs', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is installed`);
    await extension.activate();
    assert.deepEqual(loadedBundles(extension), ['dist/extension.js'], 'activation evaluates the activation shell, dist/extension.js, only');

    // showTextDocument resolves after the host has delivered the open and the new active editor, so
    // DriftLens has classified the file by now (it is not a DriftLens document).
    const plain = await open('unrelated.yaml');
    assert.equal(plain.document.languageId, 'yaml');
    assert.deepEqual(loadedBundles(extension), ['dist/extension.js'], 'a plain YAML file loads neither dist/features.js nor a dependency bundle (ajv, yaml, ioredis, nats, protobufjs, PromQL)');

    // A config document is validated: ajv's bundle loads then, and the section hash lenses show.
    const config = await open('cfg.system.default.yaml');
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', config.document.uri, 10);
    assert.ok(lenses.some((lens) => /pools sha256 [0-9a-f]+/.test(lens.command?.title ?? '')), `section hash lenses: ${lenses.map((l) => l.command?.title).join(' | ')}`);
    assert.ok(loadedBundles(extension).includes('dist/features.js'), `a DriftLens document loaded the features: ${loadedBundles(extension).join(', ')}`);
    assert.ok(loadedBundles(extension).includes('dist/vendor/ajv.js'), `validation loaded ajv: ${loadedBundles(extension).join(', ')}`);
    assert.ok(!loadedBundles(extension).some((b) => /ioredis|nats|protobufjs/.test(b)), `nothing connected, so no client library loaded: ${loadedBundles(extension).join(', ')}`);

    // VS Code's extension host logs a deprecation warning, with the reader's stack, when an extension reads `navigator`.
    const warnings = await extensionHostLogEntries(/navigator is now a global/);
    assert.deepEqual(warnings.filter((entry) => entry.includes(extension.extensionPath)), []);
  });

  test("VS Code's own activation time for DriftLens is recorded next to the suite's report", async () => {
    const times = await vscodeActivationTimes(EXTENSION_ID);
    for (const [name, value] of Object.entries(times)) if (name !== 'activationEvent') assert.ok(Number.isFinite(value) && value >= 0, `${name} is a number of ms: ${value}`);
    // Timings are not asserted (a shared 2-core machine): bench/activation.bench.ts measures them.
    const report = process.env.DRIFTLENS_TEST_REPORT;
    if (report) writeFileSync(path.join(path.dirname(report), 'activation.json'), JSON.stringify({ extension: EXTENSION_ID, ...times }, null, 2) + '\n');
    console.log(`VS Code's activation times for ${EXTENSION_ID}: ${JSON.stringify(times)}`);
  });
});
