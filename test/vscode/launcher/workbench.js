'use strict';
// Starts a real VS Code workbench (code-server from npm, see scripts/ensure-workbench.sh)
// and opens it in Debian's Chromium through playwright-core. Recipe and the reasons behind
// every flag: /work/shared/reference/real-vscode-testing.md. Plain CommonJS, Node >= 20.

const { spawn, execFile } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const ENSURE_SCRIPT = path.join(REPO_ROOT, 'scripts', 'ensure-workbench.sh');
const CHROMIUM = process.env.DRIFTLENS_CHROMIUM || '/usr/bin/chromium';
// Flags verified on these machines; --disable-dev-shm-usage because /dev/shm is small in containers.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'];

// ---------------------------------------------------------------- process cleanup
// Every live workbench, so a signal or an early exit still kills what we started.
const live = new Set();
const helpers = new Set(); // short-lived children (the install script) to kill on exit
let handlersInstalled = false;
function installExitHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
    process.once(sig, () => {
      process.stderr.write(`\nworkbench: ${sig}, closing ${live.size} workbench(es)\n`);
      // Bounded: if close hangs, the 'exit' hook below still SIGKILLs synchronously.
      const hardStop = setTimeout(() => process.exit(128 + num), 8000);
      Promise.allSettled([...live].map((w) => w.close())).finally(() => {
        clearTimeout(hardStop);
        process.exit(128 + num);
      });
    });
  }
  // Last resort (uncaught error, process.exit from a caller): only sync work is possible here.
  // playwright-core installs its own 'exit' hook that kills the browser it launched.
  process.on('exit', () => {
    for (const w of live) w._killSync();
    for (const c of helpers) { try { c.kill('SIGKILL'); } catch { /* already gone */ } }
  });
}

function killGroup(pid, signal) {
  // Negative pid = the whole process group (code-server forks its server, the extension
  // host and the pty host; all stay in the group because we spawned it detached).
  try { process.kill(-pid, signal); return true; } catch { return false; }
}

// ---------------------------------------------------------------- small helpers
function ensureCodeServer() {
  return new Promise((resolve, reject) => {
    // The first install compiles native modules (~4 min); later calls return at once.
    const child = execFile('bash', [ENSURE_SCRIPT], { maxBuffer: 1 << 20, timeout: 15 * 60e3 },
      (err, stdout) => {
        helpers.delete(child);
        if (err) return reject(new Error(`ensure-workbench.sh failed: ${err.message}`));
        const launcher = stdout.trim().split('\n').pop();
        if (!launcher || !fs.existsSync(launcher)) {
          return reject(new Error(`ensure-workbench.sh printed no launcher path (got ${JSON.stringify(launcher)})`));
        }
        resolve(launcher);
      });
    helpers.add(child);
    child.stderr.pipe(process.stderr); // install progress, if any
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function httpOk(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Polls GET /healthz until 200; fails fast if code-server exits, or after timeoutMs. */
async function waitForHealthz(port, proc, timeoutMs, outputTail) {
  const url = `http://127.0.0.1:${port}/healthz`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.spawnError) throw new Error(`could not start code-server: ${proc.spawnError.message}`);
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`code-server exited (${proc.exitCode ?? proc.signalCode}) before ${url} answered:\n${outputTail()}`);
    }
    if (await httpOk(url)) return;
    await new Promise((r) => setTimeout(r, 100)); // poll interval, not a fixed wait
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for code-server health check ${url}:\n${outputTail()}`);
}

function writeJson(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

// Upper bound for a wait that normally ends by an event; unref'd so it never keeps node alive.
function bound(ms) { return new Promise((r) => setTimeout(r, ms).unref()); }

function safeName(name) { return String(name).replace(/[^\w.-]+/g, '_'); }

// ---------------------------------------------------------------- main entry
/**
 * @param {object} o
 * @param {string} o.workspaceFolder       folder opened in the workbench
 * @param {string} [o.extensionDevelopmentPath] extension folder loaded as "under development"
 * @param {string} [o.extensionTestsPath]  compiled suite entry exporting run(); enables test mode
 * @param {Record<string,string>} [o.extensionEnvironment] env for the extension host
 * @param {object} [o.userSettings]        merged into the user settings.json
 * @param {boolean} [o.untrusted]          open the folder in restricted mode (workspace trust on, never prompted)
 * @param {string} o.artifactsDir          screenshots, logs, console output land here
 * @param {number} [o.startTimeoutMs=90000] budget for health check + workbench DOM
 * @param {boolean} [o.echoHostConsole=false] echo extension-host console lines to stderr
 */
async function startWorkbench(o) {
  const { workspaceFolder, extensionDevelopmentPath, extensionTestsPath, artifactsDir } = o;
  if (!workspaceFolder || !artifactsDir) throw new Error('startWorkbench: workspaceFolder and artifactsDir are required');
  const startTimeoutMs = o.startTimeoutMs ?? 90e3;
  const t0 = Date.now();
  const timings = {};
  fs.mkdirSync(artifactsDir, { recursive: true });
  installExitHandlers();

  const launcher = await ensureCodeServer();
  timings.ensureMs = Date.now() - t0;
  // playwright-core is loaded lazily so a missing dependency fails with a clear message.
  let chromium;
  try { ({ chromium } = require('playwright-core')); } catch (e) {
    throw new Error(`playwright-core is not installed (add "playwright-core": "1.65.1" to devDependencies): ${e.message}`);
  }

  // Short per-run dir: code-server puts unix sockets under XDG_RUNTIME_DIR/TMPDIR and
  // socket paths are limited to ~107 bytes, so keep it near the root.
  const port = await freePort();
  const runDir = fs.mkdtempSync('/tmp/dlw-');
  const d = (name) => { const p = path.join(runDir, name); fs.mkdirSync(p, { recursive: true, mode: 0o700 }); return p; };
  const dirs = { config: d('c'), data: d('d'), cache: d('k'), tmp: d('t'), runtime: d('r'),
    userData: d('u'), extensions: d('e'), profile: d('p') };
  writeJson(path.join(dirs.userData, 'User', 'settings.json'), {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'update.mode': 'none',
    // Trust is off (everything trusted) unless a scenario asks for an untrusted workspace.
    'security.workspace.trust.enabled': o.untrusted === true,
    ...(o.untrusted ? { 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.emptyWindow': false } : {}),
    // Tests edit fixtures and put them back; an auto-save in between would make an edit stick.
    'files.autoSave': 'off',
    'files.hotExit': 'off',
    // 1.139 opens a Chat side bar and an agent host by default: noise in screenshots, CPU.
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    ...(o.userSettings || {}),
  });
  const configFile = path.join(runDir, 'config.yaml');
  fs.writeFileSync(configFile, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);

  // Environment for code-server: strip variables that make it act as a CLI of an outer
  // VS Code (VSCODE_IPC_HOOK_CLI) or change how node runs.
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(VSCODE_|ELECTRON_RUN_AS_NODE$|NODE_OPTIONS$)/.test(k)) env[k] = v;
  }
  Object.assign(env, { XDG_CONFIG_HOME: dirs.config, XDG_DATA_HOME: dirs.data, XDG_CACHE_HOME: dirs.cache,
    TMPDIR: dirs.tmp, XDG_RUNTIME_DIR: dirs.runtime });

  const serverLog = path.join(artifactsDir, 'code-server.out.log');
  const serverLogFd = fs.openSync(serverLog, 'w');
  const args = ['--config', configFile, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions,
    '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    ...(o.untrusted ? [] : ['--disable-workspace-trust']), '--disable-getting-started-override', '--ignore-last-opened',
    // Extension host exits 5 s after the browser goes away (default grace is 3 hours).
    '--reconnection-grace-time', '5',
    // Without it the workbench ignores the test payload in the URL.
    '--vscode-option', 'enable-smoke-test-driver'];
  // detached => own process group, so close() can kill the server and everything it forked.
  const server = spawn(launcher, args, { env, cwd: runDir, detached: true, stdio: ['ignore', serverLogFd, serverLogFd] });
  fs.closeSync(serverLogFd); // the child holds its own copy
  server.on('error', (e) => { server.spawnError = e; }); // e.g. launcher not executable; seen by waitForHealthz
  const outputTail = () => { try { return fs.readFileSync(serverLog, 'utf8').slice(-3000); } catch { return ''; } };

  let context = null;
  let page = null;
  let closed = false;
  let closing = null;
  let settleExit;
  const exitPromise = new Promise((resolve, reject) => { settleExit = { resolve, reject }; });
  exitPromise.catch(() => {}); // callers that never await it must not get an unhandled rejection
  let exitSettled = false;
  const finishExit = (fn, v) => { if (!exitSettled) { exitSettled = true; fn(v); } };
  server.on('exit', (code, sig) => {
    if (!closed) finishExit(settleExit.reject, new Error(`code-server exited (${code ?? sig}) before the tests reported an exit code:\n${outputTail()}`));
  });

  const consoleLog = fs.createWriteStream(path.join(artifactsDir, 'page-console.log'));
  const hostLog = fs.createWriteStream(path.join(artifactsDir, 'host-console.log'));

  const wb = {
    page: null, browser: null, context: null, url: null, port, runDir, timings, exitPromise,
    artifactsDir, hostConsole: [],

    /** Saves <artifactsDir>/<name>.png and returns its path. */
    async screenshot(name) {
      if (!page || page.isClosed()) throw new Error('screenshot: no open page');
      const file = path.join(artifactsDir, `${safeName(name)}.png`);
      await page.screenshot({ path: file, timeout: 15e3 });
      return file;
    },

    /** Copies code-server's and VS Code's log folders into artifactsDir (its stdout is already there). */
    async collectLogs() {
      const copies = [[path.join(dirs.userData, 'logs'), 'vscode-logs'],
        [path.join(dirs.data, 'code-server'), 'code-server-data']];
      for (const [from, to] of copies) {
        if (fs.existsSync(from)) {
          fs.cpSync(from, path.join(artifactsDir, to), { recursive: true, force: true,
            filter: (src) => !/\.sock$|(^|\/)(extensions|User)(\/|$)/.test(path.relative(from, src)) });
        }
      }
      return artifactsDir;
    },

    /** Closes the browser, kills the code-server process group, removes the run dir. Idempotent. */
    close() {
      if (closing) return closing;
      closed = true;
      finishExit(settleExit.reject, new Error('workbench closed before the tests reported an exit code'));
      closing = (async () => {
        if (context) await Promise.race([context.close().catch(() => {}), bound(10e3)]);
        if (server.exitCode === null && server.signalCode === null) {
          const exited = new Promise((r) => server.once('exit', r));
          killGroup(server.pid, 'SIGTERM');
          await Promise.race([exited, bound(5000)]);
        }
        killGroup(server.pid, 'SIGKILL'); // stragglers (extension host, pty host) that ignored SIGTERM
        consoleLog.end();
        hostLog.end();
        fs.rmSync(runDir, { recursive: true, force: true });
        live.delete(wb);
      })();
      return closing;
    },

    _killSync() {
      killGroup(server.pid, 'SIGKILL');
      try { fs.rmSync(runDir, { recursive: true, force: true }); } catch { /* best effort at exit */ }
    },
  };
  live.add(wb);

  try {
    await waitForHealthz(port, server, startTimeoutMs, outputTail);
    timings.healthzMs = Date.now() - t0;

    // launchPersistentContext: the only way to give Chromium our own fresh profile dir
    // (playwright rejects --user-data-dir in args). handleSIG*: false because we close
    // code-server and the browser ourselves, in order, on signals.
    context = await chromium.launchPersistentContext(dirs.profile, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
      env, // same short XDG/TMPDIR dirs: nothing lands in the real home
      timeout: 60e3,
    });
    timings.browserMs = Date.now() - t0;
    wb.context = context;
    wb.browser = context.browser() || context; // persistent contexts may have no Browser object
    page = context.pages()[0] || await context.newPage();
    wb.page = page;
    page.on('console', (m) => consoleLog.write(`[${m.type()}] ${m.text()}\n`));
    page.on('pageerror', (e) => consoleLog.write(`[pageerror] ${e.stack || e.message}\n`));
    page.on('crash', () => finishExit(settleExit.reject, new Error('the workbench page crashed')));

    // Both must exist before the workbench loads: in test mode it calls them, as @vscode/test-web does.
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const line = (Array.isArray(args) ? args : [args]).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
      wb.hostConsole.push(line);
      hostLog.write(`[${type}] ${line}\n`);
      if (o.echoHostConsole) process.stderr.write(`[host] ${line}\n`);
    });
    await page.exposeFunction('codeAutomationExit', (code, logs) => {
      // logs: [{relativePath, contents}] = the window's log files; keep them as artifacts.
      for (const l of Array.isArray(logs) ? logs : []) {
        if (!l || typeof l.relativePath !== 'string') continue;
        const file = path.join(artifactsDir, 'window-logs', path.normalize(l.relativePath).replace(/^(\.\.[/\\])+/, ''));
        try { fs.mkdirSync(path.dirname(file), { recursive: true }); fs.writeFileSync(file, String(l.contents ?? '')); } catch { /* artifact only */ }
      }
      timings.exitMs = Date.now() - t0;
      finishExit(settleExit.resolve, { code, logs });
    });

    // Extension paths go in the URL payload (code-server refuses --extensionDevelopmentPath);
    // they are URIs of the server's file system.
    const remote = (p) => `vscode-remote://127.0.0.1:${port}${path.resolve(p)}`;
    const payload = [];
    if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(extensionDevelopmentPath)]);
    if (extensionTestsPath) {
      payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
      // DRIFTLENS_TEST_VSCODE_LOGS: where VS Code writes its logs, so a test can check what the
      // extension host logged (a warning there is a bug the user would otherwise never see).
      payload.push(['extensionEnvironment', JSON.stringify({ DRIFTLENS_TEST_VSCODE_LOGS: path.join(dirs.userData, 'logs'), ...(o.extensionEnvironment || {}) })]);
    }
    let url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(path.resolve(workspaceFolder))}`;
    if (payload.length) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    wb.url = url;

    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: startTimeoutMs });
    try {
      await page.waitForSelector('.monaco-workbench', { timeout: Math.max(1000, startTimeoutMs - (Date.now() - t0)) });
    } catch (e) {
      throw new Error(`timed out waiting for the VS Code workbench (.monaco-workbench) at ${url}: ${e.message.split('\n')[0]}`);
    }
    timings.workbenchMs = Date.now() - t0;
    return wb;
  } catch (err) {
    // Evidence first, then cleanup, then the original error.
    if (page && !page.isClosed()) await wb.screenshot('startup-failure').catch(() => {});
    await wb.collectLogs().catch(() => {});
    await wb.close();
    err.message += `\n(artifacts in ${artifactsDir})`;
    throw err;
  }
}

module.exports = { startWorkbench, CHROMIUM_ARGS };
