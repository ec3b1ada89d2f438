import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers';

/**
 * What each consumer gets: the npm package (the CLI and the agent) and the VSIX (the extension).
 * Both read the bundles in dist/ (scripts/test-all.sh builds them first).
 */

const SCHEMAS = ['schemas/config-document.schema.json', 'schemas/drift-policy.schema.json', 'schemas/pools.schema.json', 'schemas/timeouts.schema.json'];

function run(command: string, args: string[], cwd = ROOT): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  assert.equal(result.status, 0, `${command} ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  return result.stdout;
}

const npm = (...args: string[]) => run('npm', [...args, '--ignore-scripts', '--json', '--silent']);

test('npm pack ships the CLI and agent bundles, the schemas, README and LICENSE, and nothing else', () => {
  const [pack] = JSON.parse(npm('pack', '--dry-run')) as { files: { path: string }[] }[];
  assert.deepEqual(pack.files.map((f) => f.path).sort(), ['LICENSE', 'README.md', 'dist/agent.js', 'dist/cli.js', 'package.json', ...SCHEMAS].sort());
});

/** The bundles dist/features.js loads on first use (esbuild.js), one per heavy dependency. */
const VENDOR_BUNDLES = ['ajv', 'ioredis', 'lezer-promql', 'nats', 'protobufjs', 'yaml'].map((name) => `dist/vendor/${name}.js`);

test('the VSIX ships the extension bundle and its vendor bundles, its analysis worker, schemas, grammar and media, not the CLI or agent bundles', () => {
  const listed = run(path.join(ROOT, 'node_modules/.bin/vsce'), ['ls', '--no-dependencies']).trim().split('\n');
  assert.deepEqual(listed.sort(), [
    'LICENSE',
    'README.md',
    'dist/analysisWorker.js',
    'dist/extension.js',
    'dist/features.js',
    ...VENDOR_BUNDLES,
    'media/activity.svg',
    'media/icon.png',
    'media/walkthrough/connect.md',
    'media/walkthrough/open.md',
    'media/walkthrough/publish.md',
    'media/walkthrough/starter/cfg.system.default.yaml',
    'media/walkthrough/starter/drift-policy.yaml',
    'media/walkthrough/trust.md',
    'media/walkthrough/watch.md',
    'package.json',
    ...SCHEMAS,
    'syntaxes/canonical-json.tmLanguage.json',
  ].sort());
});

test('the packed CLI runs from the unpacked package, outside the repository, and the agent loads', () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'dl-pack-'));
  const [pack] = JSON.parse(npm('pack', '--pack-destination', folder)) as { filename: string }[];
  run('tar', ['-xzf', path.join(folder, pack.filename), '-C', folder]);
  const document = path.join(folder, 'cfg.system.default.yaml');
  writeFileSync(document, readFileSync(path.join(ROOT, 'test/fixtures/config/cfg.system.default.yaml')));
  const validate = spawnSync(process.execPath, [path.join(folder, 'package/dist/cli.js'), 'validate', 'cfg.system.default.yaml'], { cwd: folder, encoding: 'utf8' });
  assert.equal(validate.status, 0, validate.stderr);
  const hash = spawnSync(process.execPath, [path.join(folder, 'package/dist/cli.js'), 'hash', 'cfg.system.default.yaml'], { cwd: folder, encoding: 'utf8' });
  assert.match(hash.stdout, /^pools [0-9a-f]{64}\ntimeouts [0-9a-f]{64}\n$/);
  const agent = spawnSync(process.execPath, ['-e', 'console.log(typeof require(process.argv[1]).ReplicaAgent)', path.join(folder, 'package/dist/agent.js')], { cwd: folder, encoding: 'utf8' });
  assert.equal(agent.stdout, 'function\n');
});

test("the README's JavaScript examples are JavaScript (node --check)", () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const examples = [...readme.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  assert.ok(examples.length > 0, 'README.md has a ```js example');
  const folder = mkdtempSync(path.join(tmpdir(), 'dl-readme-'));
  examples.forEach((example, i) => {
    const file = path.join(folder, `example-${i + 1}.js`);
    writeFileSync(file, example);
    const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, `README example ${i + 1} does not parse as JavaScript:\n${check.stderr}`);
  });
});

test('the production bundle VS Code loads at activation is a small shell; the features and the heavy dependencies load on first use', () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'dl-dist-'));
  run(process.execPath, ['esbuild.js', '--production', `--outdir=${folder}`]);
  const shellBytes = statSync(path.join(folder, 'extension.js')).size;
  const featureBytes = statSync(path.join(folder, 'features.js')).size;
  assert.ok(shellBytes < 64 * 1024, `dist/extension.js is ${shellBytes} bytes in a production build`);
  assert.ok(shellBytes + featureBytes < 1_000_000, `dist/extension.js and dist/features.js are ${shellBytes + featureBytes} bytes in a production build`);
  const shell = readFileSync(path.join(folder, 'extension.js'), 'utf8');
  assert.ok(shell.includes('require("./features.js")'), 'dist/extension.js requires ./features.js');
  // The shell carries no feature code: no section hashing, no schema validation, no live connection.
  for (const text of ['createHash', 'ajv', 'LiveConnection', 'worker_threads']) assert.ok(!shell.includes(text), `dist/extension.js carries "${text}"`);
  const bundle = readFileSync(path.join(folder, 'features.js'), 'utf8');
  // Each vendor bundle exists and dist/features.js reaches it only through its stand-in (esbuild.js).
  for (const vendor of VENDOR_BUNDLES) {
    const file = vendor.replace(/^dist\//, '');
    assert.ok(statSync(path.join(folder, file)).size > 0, `${file} was built`);
    assert.ok(bundle.includes(`require("./${file}")`), `dist/features.js requires ./${file}`);
  }
  // Their code is not in it as well: ioredis's and the yaml package's error texts, a nats.js class name.
  for (const text of ['None of startup nodes is available', 'NatsConnectionImpl', 'Implicit keys need to be on a single line']) {
    assert.ok(!bundle.includes(text), `dist/features.js still carries "${text}"`);
  }
});
