#!/usr/bin/env node
'use strict';
// Runs a compiled mocha suite inside a real VS Code extension host (code-server + Chromium).
//
//   node test/vscode/launcher/runInHostTests.js --extension <dir> --tests <abs suite index.js>
//        --workspace <dir> [--env KEY=VAL ...] [--artifacts <dir>] [--timeout-ms N] [--verbose]
//
// The host's console is cut off when the workbench exits, so the suite is expected to write
// its spec output and a JSON summary {passes, failures, tests: [...]} to the file named by
// the DRIFTLENS_TEST_REPORT environment variable, which this launcher sets. Exit code 0 only
// if mocha exited 0, failures === 0 and passes > 0 (a run with zero tests is a failure).

const fs = require('fs');
const path = require('path');
const { startWorkbench } = require('./workbench');

function usage(msg) {
  if (msg) console.error(`runInHostTests: ${msg}`);
  console.error('usage: runInHostTests.js --extension <dir> --tests <suite index.js> --workspace <dir> '
    + '[--env KEY=VAL ...] [--artifacts <dir>] [--timeout-ms N] [--verbose]');
  process.exit(2);
}

function parseArgs(argv) {
  const a = { env: {}, timeoutMs: 240e3, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => { if (i + 1 >= argv.length) usage(`${k} needs a value`); return argv[++i]; };
    if (k === '--extension') a.extension = path.resolve(val());
    else if (k === '--tests') a.tests = path.resolve(val());
    else if (k === '--workspace') a.workspace = path.resolve(val());
    else if (k === '--artifacts') a.artifacts = path.resolve(val());
    else if (k === '--timeout-ms') a.timeoutMs = Number(val());
    else if (k === '--verbose') a.verbose = true;
    else if (k === '--env') {
      const kv = val();
      const eq = kv.indexOf('=');
      if (eq < 1) usage(`--env expects KEY=VAL, got ${kv}`);
      a.env[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else usage(`unknown argument ${k}`);
  }
  if (!a.extension || !a.tests || !a.workspace) usage('--extension, --tests and --workspace are required');
  for (const [what, p] of [['extension', a.extension], ['tests', a.tests], ['workspace', a.workspace]]) {
    if (!fs.existsSync(p)) usage(`--${what} ${p} does not exist`);
  }
  if (!(a.timeoutMs > 0)) usage('--timeout-ms must be a positive number');
  // test-results/ is git-ignored; one folder per run keeps CI artifacts apart.
  a.artifacts ||= path.resolve(__dirname, '..', '..', '..', 'test-results', 'vscode',
    new Date().toISOString().replace(/[:.]/g, '-'));
  return a;
}

/** The report is JSON, or text whose last JSON object line is the summary: accept both. */
function parseReport(text) {
  try { return JSON.parse(text); } catch { /* fall through */ }
  const lines = text.trim().split('\n').reverse();
  for (const l of lines) {
    if (!l.trim().startsWith('{')) continue;
    try { return JSON.parse(l); } catch { /* keep looking */ }
  }
  return null;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  fs.mkdirSync(a.artifacts, { recursive: true });
  const reportFile = path.join(a.artifacts, 'report.json');
  fs.rmSync(reportFile, { force: true }); // never read a stale report

  const t0 = Date.now();
  let wb;
  let exit = null;
  let problem = null;
  try {
    wb = await startWorkbench({
      workspaceFolder: a.workspace,
      extensionDevelopmentPath: a.extension,
      extensionTestsPath: a.tests,
      extensionEnvironment: { ...a.env, DRIFTLENS_TEST_REPORT: reportFile },
      artifactsDir: a.artifacts,
      echoHostConsole: a.verbose,
      startTimeoutMs: Math.min(a.timeoutMs, 120e3),
    });
    console.log(`runInHostTests: workbench up in ${wb.timings.workbenchMs} ms `
      + `(ensure ${wb.timings.ensureMs} ms, healthz ${wb.timings.healthzMs} ms); running ${a.tests}`);
    const remaining = a.timeoutMs - (Date.now() - t0);
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${a.timeoutMs} ms waiting for the suite to call codeAutomationExit`)), remaining);
    });
    try { exit = await Promise.race([wb.exitPromise, timeout]); } finally { clearTimeout(timer); }
    console.log(`runInHostTests: suite exited with code ${exit.code} after ${wb.timings.exitMs - wb.timings.workbenchMs} ms`);
  } catch (e) {
    problem = e.message;
    if (wb) await wb.screenshot('failure').catch(() => {});
  } finally {
    if (wb) {
      await wb.collectLogs().catch(() => {});
      await wb.close();
    }
  }

  let report = null;
  if (fs.existsSync(reportFile)) {
    const text = fs.readFileSync(reportFile, 'utf8');
    console.log(`----- ${reportFile} -----\n${text.trimEnd()}\n-----`);
    report = parseReport(text);
    if (!report) problem ||= `report ${reportFile} has no JSON summary {passes, failures}`;
  } else {
    problem ||= `the suite wrote no report to DRIFTLENS_TEST_REPORT=${reportFile}`;
    if (wb && wb.hostConsole.length) console.log(`host console (last lines):\n${wb.hostConsole.slice(-40).join('\n')}`);
  }

  if (!problem && exit.code !== 0) problem = `the suite exited with code ${exit.code}`;
  if (!problem && report.failures !== 0) problem = `${report.failures} test(s) failed`;
  if (!problem && !(report.passes > 0)) problem = 'zero tests passed: did the suite find its test files?';
  const summary = report ? `passes=${report.passes} failures=${report.failures}` : 'no summary';
  console.log(`runInHostTests: ${problem ? 'FAIL' : 'OK'} (${summary}, total ${Date.now() - t0} ms, artifacts ${a.artifacts})`);
  if (problem) console.error(`runInHostTests: ${problem}`);
  process.exitCode = problem ? 1 : 0;
}

main().catch((e) => { console.error(e.stack || e.message); process.exitCode = 1; });
