#!/usr/bin/env node
'use strict';
// The whole loop on one machine: local redis-server and nats-server, the config document seeded
// from the real Cordum example files, six simulated replicas (one loses every notification), and
// DriftLens in a real VS Code (code-server) on a sample workspace wired to those servers.
// Prints the URL; Ctrl-C stops everything it started.

const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist/cli.js');
const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, replicas: { type: 'string', default: '6' } } });

const children = [];
const run = fs.mkdtempSync(path.join(os.tmpdir(), 'driftlens-demo-'));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (Date.now() > deadline) throw new Error(`${what} did not start listening on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50)); // polling a port: no event says "listening"
  }
}

function start(name, command, args, env = process.env) {
  const log = fs.openSync(path.join(run, `${name}.log`), 'a');
  const child = spawn(command, args, { env, stdio: ['ignore', log, log], detached: true });
  children.push({ name, child });
  child.on('exit', (code) => {
    if (!stopping) console.error(`demo: ${name} exited (${code}); see ${path.join(run, `${name}.log`)}`);
  });
  return child;
}

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  for (const { child } of children.reverse()) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  fs.rmSync(run, { recursive: true, force: true });
}

function cli(args, env) {
  return execFileSync(process.execPath, [CLI, ...args], { cwd: ROOT, env, encoding: 'utf8' });
}

async function main() {
  process.on('SIGINT', () => (stop(), process.exit(0)));
  process.on('SIGTERM', () => (stop(), process.exit(0)));
  const uiPort = Number(values.port);
  if (await portOpen(uiPort)) throw new Error(`port ${uiPort} is taken; run: npm run demo -- --port 8090`);
  const [redisPort, natsPort] = [await freePort(), await freePort()];
  start('redis', 'redis-server', ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no', '--dir', run]);
  start('nats', 'nats-server', ['-a', '127.0.0.1', '-p', String(natsPort)]);
  await Promise.all([waitForPort(redisPort, 'redis-server'), waitForPort(natsPort, 'nats-server')]);
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  const env = { ...process.env, DRIFTLENS_REDIS_URL: redisUrl, DRIFTLENS_NATS_URL: natsUrl };

  // The sample workspace: the real Cordum section files, a drift policy with a short poll, and the
  // config document built from those sections, published, then pulled back with its revision.
  const workspace = path.join(run, 'workspace');
  fs.mkdirSync(path.join(workspace, 'config'), { recursive: true });
  const examples = path.join(ROOT, 'test/fixtures/cordum');
  for (const f of ['pools.yaml', 'timeouts.yaml']) fs.copyFileSync(path.join(examples, f), path.join(workspace, 'config', f));
  fs.writeFileSync(
    path.join(workspace, 'drift-policy.yaml'),
    fs.readFileSync(path.join(ROOT, 'test/fixtures/policy/drift-policy.yaml'), 'utf8').replace('interval: 30s', 'interval: 10s').replace('notification_lost: "<= 30s"', 'notification_lost: "<= 12s"'),
  );
  const indent = (file) => fs.readFileSync(path.join(examples, file), 'utf8').replace(/^(?=.)/gm, '    ');
  const seed = path.join(workspace, 'cfg.system.default.yaml');
  fs.writeFileSync(seed, `# driftlens: config\ndata:\n  pools:\n${indent('pools.yaml')}  timeouts:\n${indent('timeouts.yaml')}`);
  process.stdout.write(cli(['publish', seed, '--yes', '--policy', path.join(workspace, 'drift-policy.yaml')], env));
  cli(['pull', '--out', seed, '--force'], env);

  const count = Number(values.replicas);
  start('replicas', process.execPath, [CLI, 'replicas', '--count', String(count), '--poll', '10s', '--heartbeat', '2s', '--fault', `${count}:drop`, '--no-table'], env);

  const launcher = execFileSync('bash', [path.join(ROOT, 'scripts/ensure-workbench.sh')], { encoding: 'utf8' }).trim().split('\n').pop();
  const extensionDir = path.join(run, 'extensions', 'driftlens.driftlens-0.1.0');
  for (const item of ['package.json', 'README.md', 'dist', 'schemas', 'media', 'syntaxes']) {
    if (fs.existsSync(path.join(ROOT, item))) fs.cpSync(path.join(ROOT, item), path.join(extensionDir, item), { recursive: true });
  }
  fs.mkdirSync(path.join(run, 'user', 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(run, 'user', 'User', 'settings.json'),
    JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'extensions.autoUpdate': false, 'security.workspace.trust.enabled': false, 'chat.disableAIFeatures': true, 'workbench.secondarySideBar.defaultVisibility': 'hidden', 'driftlens.redis.url': redisUrl, 'driftlens.nats.servers': [natsUrl] }, null, 2),
  );
  const xdg = path.join(run, 'xdg');
  start('code-server', launcher, [
    '--auth', 'none', '--bind-addr', `127.0.0.1:${uiPort}`, '--user-data-dir', path.join(run, 'user'), '--extensions-dir', path.join(run, 'extensions'),
    '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override', '--disable-workspace-trust', '--ignore-last-opened', workspace,
  ], { ...process.env, XDG_CONFIG_HOME: xdg, XDG_DATA_HOME: xdg, XDG_CACHE_HOME: xdg });
  await waitForPort(uiPort, 'code-server', 30000);

  console.log(`
DriftLens demo is running.

  VS Code:   http://127.0.0.1:${uiPort}/?folder=${encodeURIComponent(workspace)}
  Redis:     ${redisUrl}   (cfg:system:default, seeded from the Cordum example files)
  NATS:      ${natsUrl}
  Replicas:  ${count} simulated scheduler replicas; sim-${count} loses every notification
             and converges by its 10s poll.

Try: open cfg.system.default.yaml, change a pool, run "DriftLens: Publish Config".
Watch the replicas converge in a terminal:
  DRIFTLENS_REDIS_URL=${redisUrl} DRIFTLENS_NATS_URL=${natsUrl} node ${CLI} status --watch
Logs: ${run}/*.log

Ctrl-C stops everything.`);
}

main().catch((e) => {
  console.error(`demo: ${e.message}`);
  stop();
  process.exit(1);
});
