import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { analyzeDocument } from '../../src/core/analysis';
import { AnalysisClient, type AnalysisOutcome } from '../../src/extension/analysisClient';
import type { AnalysisSummary } from '../../src/extension/analysisWorker';
import { largeConfigDocument } from '../support/largeConfig';
import { ROOT } from './helpers';

// The worker as it ships (npm run build makes it before the unit layer runs).
const WORKER = path.join(ROOT, 'dist', 'analysisWorker.js');

function client(file = WORKER): { client: AnalysisClient; failures: string[] } {
  const failures: string[] = [];
  return { client: new AnalysisClient(file, (reason) => failures.push(reason)), failures };
}

/** Sends `text` as the editor does when a large document opens: a few chunks. */
function send(c: AnalysisClient, key: string, version: number, text: string): void {
  c.begin(key, version);
  const third = Math.ceil(text.length / 3);
  for (let at = 0; at < text.length; at += third) c.append(key, text.slice(at, at + third));
}

function done(outcome: AnalysisOutcome): AnalysisSummary {
  assert.equal(outcome.status, 'done');
  return (outcome as { summary: AnalysisSummary }).summary;
}

/** The check the extension sends with an edit: the length and the line the edit ends on. */
function checkAfter(text: string, at: number): { length: number; offset: number; line: string } {
  const offset = text.lastIndexOf('\n', at - 1) + 1;
  const end = text.indexOf('\n', at);
  return { length: text.length, offset, line: text.slice(offset, end < 0 ? text.length : end) };
}

test('the worker follows edits and answers the same problems and hashes as the host', async (t) => {
  const { client: c, failures } = client();
  t.after(() => c.dispose());
  const { text, editedTopic } = largeConfigDocument(300_000);
  send(c, 'cfg', 1, text);
  const first = done(await c.analyze('cfg', 1, { kind: 'config', format: 'yaml' }));
  const here = analyzeDocument(text, 'yaml', 'config');
  assert.deepEqual(first.sections, here.sections.map(({ canonical: _c, ...s }) => s));
  assert.deepEqual(first.problems, here.problems);
  assert.deepEqual(first.problems.filter((p) => p.severity === 'error'), [], 'the generated document is valid');
  assert.equal(first.reader, here.parsed.reader);

  // Type a topic routed to a number under the middle topic's line, as an editor reports it: one change per keystroke.
  let edited = text;
  const at = text.indexOf(editedTopic) + editedTopic.length;
  let version = 1;
  for (const [i, ch] of [...'\n    job.typed: 42'].entries()) {
    edited = edited.slice(0, at + i) + ch + edited.slice(at + i);
    c.edit('cfg', ++version, [{ offset: at + i, length: 0, text: ch }], checkAfter(edited, at + i + 1));
  }
  const second = done(await c.analyze('cfg', version, { kind: 'config', format: 'yaml' }));
  const expected = analyzeDocument(edited, 'yaml', 'config');
  assert.ok(expected.problems.length > 0, 'the edit breaks the document');
  assert.deepEqual(second.problems, expected.problems);
  assert.deepEqual(second.sections, expected.sections.map(({ canonical: _c, ...s }) => s));
  assert.deepEqual(failures, []);
});

test('a newer version supersedes the run of an older one', async (t) => {
  const { client: c } = client();
  t.after(() => c.dispose());
  const { text, editedTopic } = largeConfigDocument(2_000_000);
  send(c, 'cfg', 1, text);
  const older = c.analyze('cfg', 1, { kind: 'config', format: 'yaml' });
  const at = text.indexOf(editedTopic) + editedTopic.length;
  const edited = text.slice(0, at) + '-2' + text.slice(at);
  c.edit('cfg', 2, [{ offset: at, length: 0, text: '-2' }], checkAfter(edited, at + 2));
  const newer = c.analyze('cfg', 2, { kind: 'config', format: 'yaml' });
  assert.deepEqual(await older, { status: 'superseded' });
  const summary = done(await newer);
  assert.deepEqual(summary.sections, analyzeDocument(edited, 'yaml', 'config').sections.map(({ canonical: _c, ...s }) => s));
});

test('an edit the worker applied differently from the editor is a desync, never an analysis', async (t) => {
  const { client: c } = client();
  t.after(() => c.dispose());
  const { text } = largeConfigDocument(100_000);
  send(c, 'cfg', 1, text);
  // The editor says the line now reads "x: 1"; the worker's text says otherwise.
  c.edit('cfg', 2, [{ offset: 0, length: 0, text: '#' }], { length: text.length + 1, offset: 0, line: 'x: 1' });
  assert.deepEqual(await c.analyze('cfg', 2, { kind: 'config', format: 'yaml' }), { status: 'desync' });
  // A version the worker never received is a desync too.
  assert.deepEqual(await c.analyze('never-sent', 1, { kind: 'config', format: 'yaml' }), { status: 'desync' });
});

test('a worker that cannot start: analyze rejects and the failure is reported once', async () => {
  const { client: c, failures } = client(path.join(ROOT, 'dist', 'no-such-worker.js'));
  c.begin('cfg', 1);
  c.append('cfg', 'pools: {}\n');
  await assert.rejects(c.analyze('cfg', 1, { kind: 'config', format: 'yaml' }), /analysis worker/);
  await assert.rejects(c.analyze('cfg', 1, { kind: 'config', format: 'yaml' }), /analysis worker/);
  assert.equal(failures.length, 1);
  assert.match(failures[0], /no-such-worker/);
});
