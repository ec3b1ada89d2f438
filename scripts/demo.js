#!/usr/bin/env node
'use strict';
// The whole loop on one machine: local redis-server and nats-server, the config document seeded
// from the real Cordum example files, six simulated replicas (one loses every notification) whose
// scheduler workload model exposes Prometheus metrics, a real Prometheus (Debian's package)
// scraping them, and DriftLens in a real VS Code (code-server) on a sample workspace wired to those
// servers, with a drift policy that verifies every publish and rolls a bad one back.
// Prints the URLs; Ctrl-C stops everything it started.

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
  const [redisPort, natsPort, metricsPort, prometheusPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  start('redis', 'redis-server', ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no', '--dir', run]);
  start('nats', 'nats-server', ['-a', '127.0.0.1', '-p', String(natsPort)]);
  await Promise.all([waitForPort(redisPort, 'redis-server'), waitForPort(natsPort, 'nats-server')]);
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  const env = { ...process.env, DRIFTLENS_REDIS_URL: redisUrl, DRIFTLENS_NATS_URL: natsUrl };

  // A real Prometheus scraping the simulated replicas every second: the Verify stage queries it.
  const prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
  const prometheusConfig = path.join(run, 'prometheus.yml');
  fs.writeFileSync(prometheusConfig, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: driftlens-demo-replicas\n    static_configs:\n      - targets: ["127.0.0.1:${metricsPort}"]\n`);
  start('prometheus', 'prometheus', [`--config.file=${prometheusConfig}`, `--storage.tsdb.path=${path.join(run, 'prometheus-data')}`, `--web.listen-address=127.0.0.1:${prometheusPort}`, '--log.level=warn']);

  // The sample workspace: the real Cordum section files, a drift policy with a short poll, and the
  // config document built from those sections, published, then pulled back with its revision.
  const workspace = path.join(run, 'workspace');
  fs.mkdirSync(path.join(workspace, 'config'), { recursive: true });
  const examples = path.join(ROOT, 'test/fixtures/cordum');
  for (const f of ['pools.yaml', 'timeouts.yaml']) fs.copyFileSync(path.join(examples, f), path.join(workspace, 'config', f));
  // The Verify block of examples/verify.drift-policy.yaml (the seed's four signals), with demo
  // times: measured every 5s, 6 times, over 30s windows, against the local Prometheus; a failure
  // rolls back to the last revision that passed.
  const verify = fs
    .readFileSync(path.join(ROOT, 'examples/verify.drift-policy.yaml'), 'utf8')
    .split(/^(?=  verify:)/m)[1]
    .replace(/prometheus: .*/, `prometheus: ${prometheusUrl}`)
    .replace(/initial_delay: .*/, 'initial_delay: 5s')
    .replace(/interval: .*/, 'interval: 5s')
    .replace(/count: .*/, 'count: 6')
    .replace(/on_failure: .*/, 'on_failure: rollback')
    .replace(/\[5m\]/g, '[30s]');
  fs.writeFileSync(
    path.join(workspace, 'drift-policy.yaml'),
    fs.readFileSync(path.join(ROOT, 'test/fixtures/policy/drift-policy.yaml'), 'utf8').replace('interval: 30s', 'interval: 10s').replace('notification_lost: "<= 30s"', 'notification_lost: "<= 12s"') + verify,
  );
  const indent = (file) => fs.readFileSync(path.join(examples, file), 'utf8').replace(/^(?=.)/gm, '    ');
  const seed = path.join(workspace, 'cfg.system.default.yaml');
  fs.writeFileSync(seed, `# driftlens: config\ndata:\n  pools:\n${indent('pools.yaml')}  timeouts:\n${indent('timeouts.yaml')}`);
  process.stdout.write(cli(['publish', seed, '--yes', '--policy', path.join(workspace, 'drift-policy.yaml')], env));
  cli(['pull', '--out', seed, '--force'], env);
  // The story's bad change, ready to publish: the pulled document with the only pool of seven
  // topics (gtm-engine-think) draining. Its jobs wait 2-8 s, so dispatch latency p99 climbs.
  const pulled = fs.readFileSync(seed, 'utf8');
  const drained = pulled.replace(/^( +)gtm-engine-think:\n(\1 +)requires: \[\]\n/m, '$1gtm-engine-think:\n$2requires: []\n$2status: draining\n');
  if (drained === pulled) throw new Error('the seed has no gtm-engine-think pool to drain; the bad change could not be prepared');
  const bad = path.join(workspace, 'cfg.system.default.bad.yaml');
  fs.writeFileSync(bad, `# The demo's bad change: cfg.system.default.yaml with pool gtm-engine-think draining.\n${drained}`);

  const count = Number(values.replicas);
  start('replicas', process.execPath, [CLI, 'replicas', '--count', String(count), '--poll', '10s', '--heartbeat', '2s', '--fault', `${count}:drop`, '--no-table', '--metrics-port', String(metricsPort)], env);
  await Promise.all([waitForPort(metricsPort, 'the simulated replicas\' metrics'), waitForPort(prometheusPort, 'prometheus')]);

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
             and converges by its 10s poll. Metrics: http://127.0.0.1:${metricsPort}/metrics
  Prometheus: ${prometheusUrl}   (scrapes the replicas every 1s; drift-policy.yaml verifies against it)

The story: publish a change that drains the only pool of a topic, watch the Verify node fail and
the rollback restore it.
  1. Open cfg.system.default.bad.yaml (cfg.system.default.yaml with "status: draining" on pool
     gtm-engine-think, the only pool of seven topics) and run "DriftLens: Publish Config".
     (Or make the same one-line edit in cfg.system.default.yaml: under pools.gtm-engine-think,
     add "status: draining".)
  2. In the Replicas view, the replicas converge, then the Verify node measures every 5s:
     dispatch_latency_p99 climbs above its max of 0.5 s, the check fails, and the policy's
     on_failure: rollback republishes the previous revision; the replicas converge back.
  In Prometheus: ${prometheusUrl}/graph?g0.expr=${encodeURIComponent('histogram_quantile(0.99, sum by (le) (rate(cordum_scheduler_dispatch_latency_seconds_bucket[30s])))')}
  and drift by hash: ${prometheusUrl}/graph?g0.expr=${encodeURIComponent('count by (hash) (driftlens_config_section_info{section="pools"})')}

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
