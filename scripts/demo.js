#!/usr/bin/env node
'use strict';
// Starts code-server with DriftLens installed (an unpacked copy in a fresh extensions folder)
// on a sample workspace, prints the URL, and stops everything on Ctrl-C.
// Publishing, replicas and the drift view join this demo as their issues land.

const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');
const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' } } });

function cli(...args) {
  console.log(`$ driftlens ${args.join(' ')}`);
  try {
    process.stdout.write(execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  } catch (e) {
    process.stdout.write(e.stdout || '');
  }
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer().once('error', () => resolve(false)).once('listening', () => server.close(() => resolve(true)));
    server.listen(port, '127.0.0.1');
  });
}

async function main() {
  cli('hash', 'test/fixtures/cordum/pools.yaml');
  cli('hash', 'test/fixtures/cordum/timeouts.yaml');
  cli('validate', 'test/fixtures/policy/drift-policy.yaml', 'test/fixtures/config/cfg.broken.yaml');

  const port = Number(values.port);
  if (!(await portFree(port))) throw new Error(`port ${port} is taken; run: npm run demo -- --port 8090`);
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'driftlens-demo-'));
  const workspace = path.join(run, 'workspace');
  fs.cpSync(path.join(ROOT, 'test/vscode/workspace'), workspace, { recursive: true });
  const extensionDir = path.join(run, 'extensions', 'driftlens.driftlens-0.1.0');
  for (const item of ['package.json', 'README.md', 'dist', 'schemas', 'media', 'syntaxes']) {
    if (fs.existsSync(path.join(ROOT, item))) fs.cpSync(path.join(ROOT, item), path.join(extensionDir, item), { recursive: true });
  }
  const launcher = execFileSync('bash', [path.join(ROOT, 'scripts/ensure-workbench.sh')], { encoding: 'utf8' }).trim().split('\n').pop();
  fs.mkdirSync(path.join(run, 'user', 'User'), { recursive: true });
  fs.writeFileSync(path.join(run, 'user', 'User', 'settings.json'), JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'extensions.autoUpdate': false }, null, 2));
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(run, 'xdg'), XDG_DATA_HOME: path.join(run, 'xdg'), XDG_CACHE_HOME: path.join(run, 'xdg') };
  const server = spawn(launcher, [
    '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', path.join(run, 'user'), '--extensions-dir', path.join(run, 'extensions'),
    '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override', '--ignore-last-opened', workspace,
  ], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const stop = () => {
    try { process.kill(-server.pid, 'SIGTERM'); } catch { /* already gone */ }
    fs.rmSync(run, { recursive: true, force: true });
  };
  process.on('SIGINT', () => { stop(); process.exit(0); });
  process.on('SIGTERM', () => { stop(); process.exit(0); });
  server.on('exit', (code) => { console.error(`code-server exited (${code})`); fs.rmSync(run, { recursive: true, force: true }); process.exit(1); });
  console.log(`\nDriftLens is running in VS Code: http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
  console.log('Open cfg.broken.yaml for diagnostics, cfg.system.default.yaml for the section hashes.');
  console.log('Ctrl-C stops it.');
}

main().catch((e) => {
  console.error(`demo: ${e.message}`);
  process.exit(1);
});
