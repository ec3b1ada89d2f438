import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { analyzeDocument } from '../../src/core/analysis';
import { LARGE_OBJECT_MEMBERS } from '../../src/core/documentModel';
import { blockMappingKeys, cursorContext, linesOfText, type CursorContext } from '../../src/core/cursorContext';
import { didYouMean, fixesFor, goDurationFromText, boundFromText, topicFormConversion, type Fix } from '../../src/core/quickFixes';
import { describe as describeSchema, enumValues, propertiesOf, schemaAt, typesOf } from '../../src/core/schemaNavigator';
import { fixture, problemsAt, ROOT } from './helpers';

/** The context at the `|` of a document (the bar is removed). */
function at(doc: string): (Omit<CursorContext, 'presentKeys'> & { present: string[] }) | undefined {
  const i = doc.indexOf('|');
  const text = doc.slice(0, i) + doc.slice(i + 1);
  const lines = text.slice(0, i).split('\n');
  const context = cursorContext(linesOfText(text), lines.length - 1, lines[lines.length - 1].length);
  if (!context) return undefined;
  const { presentKeys, ...rest } = context;
  return { ...rest, present: presentKeys() };
}

test('cursor context: the value of a topic, in a document that does not parse', () => {
  // A half-typed line below and a broken flow list above: no parser would read this document.
  const doc = 'data:\n  pools:\n    topics:\n      job.x: [a,, {\n      job.a: de|\n      job.b\n    pools:\n      default: {}\n';
  assert.equal(analyzeDocument(doc.replace('|', ''), 'yaml', 'config').problems.some((p) => p.severity === 'error'), true);
  const c = at(doc);
  assert.deepEqual(c?.path, ['data', 'pools', 'topics', 'job.a']);
  assert.equal(c?.position, 'value');
  assert.deepEqual(c?.word, { text: 'de', start: 13, end: 15 });
});

test('cursor context: inside a flow list, the items already written', () => {
  const c = at('pools:\n  topics:\n    job.a: [default, |, "fraud"]\n');
  assert.deepEqual(c?.path, ['pools', 'topics', 'job.a', 1]);
  assert.deepEqual(c?.list?.items, ['default', 'fraud']);
  assert.equal(c?.flow, true);
});

test('cursor context: keys of a block mapping and the keys already present', () => {
  const c = at('data:\n  pools:\n    pools:\n      default:\n        requires: []\n        st|\n        description: x\n');
  assert.deepEqual(c?.parentPath, ['data', 'pools', 'pools', 'default']);
  assert.equal(c?.position, 'key');
  assert.deepEqual(c?.present, ['requires', 'description']);
});

test('cursor context: a flow mapping value and a key inside one', () => {
  const value = at('pools:\n  pools:\n    old: {requires: [], status: dr|}\n');
  assert.deepEqual(value?.path, ['pools', 'pools', 'old', 'status']);
  assert.equal(value?.word.text, 'dr');
  const key = at('pools:\n  pools:\n    old: {requires: [], |}\n');
  assert.equal(key?.position, 'key');
  assert.deepEqual(key?.parentPath, ['pools', 'pools', 'old']);
  assert.deepEqual(key?.present, ['requires']);
});

test('cursor context: block lists, at either indentation, count their items', () => {
  assert.deepEqual(at('drift_control:\n  verify:\n    checks:\n      - name: a\n      - name: b\n        wi|\n')?.parentPath, ['drift_control', 'verify', 'checks', 1]);
  assert.deepEqual(at('drift_control:\n  verify:\n    checks:\n    - name: a\n    - name: b\n    - |\n')?.path, ['drift_control', 'verify', 'checks', 2]);
  assert.deepEqual(at('pools:\n  topics:\n    job.a:\n      - |\n')?.path, ['pools', 'topics', 'job.a', 0]);
  assert.deepEqual(at('pools:\n  topics:\n    job.a:\n    - gpu\n    - |\n    - "cpu" # a comment\n  pools: {}\n')?.list?.items, ['gpu', 'cpu']);
});

test('cursor context: nothing inside a comment; a key typed right after the colon needs a space', () => {
  assert.equal(at('pools:\n  topics:\n    job.a: default # the def|\n'), undefined);
  assert.equal(at('timeouts:\n  reconciler:\n    scan_interval_seconds:|\n')?.needsSpace, true);
});

test('cursor context: the enclosing keys are found across 200,000 lines of topics', () => {
  const topics = Array.from({ length: 200_000 }, (_, i) => `      job.t${i}: p${i % 7}\n`).join('');
  const c = at(`data:\n  pools:\n    topics:\n${topics}      job.last: |\n    pools: {}\n`);
  assert.deepEqual(c?.path, ['data', 'pools', 'topics', 'job.last']);
});

test('pool names from the text when the document does not parse: block entries or a flow mapping', () => {
  const broken = linesOfText('data:\n  pools:\n    topics:\n      job.a: [\n      job.b\n    pools:\n      default:\n        requires: []\n      # a comment\n      gpu: {requires: [gpu]}\n  timeouts: {}\n');
  assert.deepEqual(blockMappingKeys(broken, ['data', 'pools', 'pools']), ['default', 'gpu']);
  assert.deepEqual(blockMappingKeys(linesOfText('topics: {a: p}\npools: {p: {requires: []}, "q r": {}}\n'), ['pools']), ['p', 'q r']);
  assert.equal(blockMappingKeys(linesOfText('topics: {a: p}\n'), ['pools']), undefined);
});

test('schema navigator: envelope and bare data, enums, durations, topics as a string or a list', () => {
  assert.deepEqual(propertiesOf(schemaAt('config', [], true)!).map((p) => p.name), ['scope', 'scope_id', 'data', 'revision', 'updated_at', 'meta']);
  assert.ok(propertiesOf(schemaAt('config', [], false)!).some((p) => p.name === 'pools'));
  assert.deepEqual(enumValues(schemaAt('config', ['data', 'pools', 'pools', 'any', 'status'], true)!), ['active', 'draining', 'inactive']);
  assert.deepEqual(enumValues(schemaAt('config', ['scope'], true)!), ['system', 'org', 'team', 'workflow', 'step']);
  assert.equal(schemaAt('policy', ['drift_control', 'polling', 'interval'])?.format, 'duration');
  assert.equal(schemaAt('policy', ['drift_control', 'convergence_slo', 'notification_ok'])?.format, 'bound');
  assert.deepEqual(schemaAt('pools', ['topics', 'job.a'])!.nodes.map(typesOf), [['string'], ['array']]);
  assert.deepEqual(typesOf(schemaAt('timeouts', ['reconciler', 'scan_interval_seconds'])!.nodes[0]), ['integer']);
  assert.match(describeSchema(schemaAt('config', ['data', 'pools', 'topics'], true)!) ?? '', /route the same but hash differently/);
  assert.equal(schemaAt('config', ['data', 'nope'], true), undefined);
});

test('cross-references: undefined pool at its name, nowhere to go at the topic, unused pool as a note', () => {
  assert.deepEqual(problemsAt(fixture('config/cfg.routing.yaml'), 'cfg.yaml', 'config'), [
    '6:34-6:42 warning undefined-pool', // gpu-farm
    '7:7-7:24 warning topic-not-routable', // job.legacy.export
    '16:7-16:12 info unused-pool', // spare
  ]);
  const analysis = analyzeDocument(fixture('config/cfg.routing.yaml'), 'yaml', 'config');
  assert.match(analysis.problems.find((p) => p.code === 'topic-not-routable')!.message, /"legacy" is draining, "archive" is inactive/);
  // Replicas still apply it: the section has its hash.
  assert.ok(analysis.sections.find((s) => s.name === 'pools')?.hash);
});

test('cross-references: the same in a pools section file, with capitalised keys', () => {
  assert.deepEqual(problemsAt('Topics:\n  job.a: missing\nPools:\n  used: {}\n', 'pools.yaml', 'pools'), ['2:10-2:17 warning undefined-pool', '4:3-4:7 info unused-pool']);
});

/**
 * The cross-reference rules stated plainly, over the parsed data: what poolCrossReferences must
 * report, whichever way it looks pools up. Each entry is `code: message`, sorted.
 */
function crossReferencesByTheRules(topics: [string, unknown][], pools: [string, unknown][]): string[] {
  const defined = new Map(pools);
  const used = new Set<string>();
  const out: string[] = [];
  const statusOf = (name: string) => {
    const pool = defined.get(name);
    return typeof pool === 'object' && pool !== null && !Array.isArray(pool) ? (pool as { status?: unknown }).status : undefined;
  };
  for (const [topic, value] of topics) {
    const names = (typeof value === 'string' ? [value] : Array.isArray(value) ? value : []).filter((n): n is string => typeof n === 'string');
    for (const name of names) {
      used.add(name);
      if (!defined.has(name)) out.push(`undefined-pool: Pool "${name}" is not defined in pools: jobs on "${topic}" routed to it find no worker pool.`);
    }
    const routable = names.some((n) => defined.has(n) && !['draining', 'inactive'].includes(statusOf(n) as string));
    if (names.length > 0 && !routable && names.every((n) => defined.has(n))) {
      const statuses = names.map((n) => `"${n}" is ${String(statusOf(n))}`).join(', ');
      out.push(`topic-not-routable: Topic "${topic}" has nowhere to go: ${statuses}, and Cordum leaves draining and inactive pools out of routing.`);
    }
  }
  for (const [name] of pools) if (!used.has(name)) out.push(`unused-pool: No topic routes to pool "${name}".`);
  return out.sort();
}

/** A pools section as JSON text, members in the given order (a `__proto__` member included). */
function poolsSectionJson(topics: [string, unknown][], pools: [string, unknown][]): string {
  const object = (entries: [string, unknown][]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  return `{"topics":${object(topics)},"pools":${object(pools)}}`;
}

function crossReferencesFound(text: string): string[] {
  const codes = new Set(['undefined-pool', 'topic-not-routable', 'unused-pool']);
  return analyzeDocument(text, 'json', 'pools')
    .problems.filter((p) => codes.has(p.code))
    .map((p) => `${p.code}: ${p.message}`)
    .sort();
}

test('cross-references follow their rules for any names, statuses and topic forms, small and large sections', () => {
  // Names that are also Object.prototype's, or array indexes, or each other's prefix.
  const poolName = fc.constantFrom('a', 'b', 'c', 'gpu', 'gpu-farm', 'constructor', 'toString', '__proto__', 'hasOwnProperty', '0', '1', '');
  const status = fc.constantFrom('active', 'draining', 'inactive', undefined, 7);
  const pool = fc.oneof(status.map((s) => (s === undefined ? { requires: [] } : { requires: [], status: s })), fc.constant(null), fc.constant('x'));
  const topicValue = fc.oneof(poolName, fc.array(fc.oneof(poolName, fc.constant(3)), { maxLength: 3 }), fc.constant(null));
  const unique = <T>(entries: [string, T][]) => [...new Map(entries)];
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.string({ maxLength: 6 }), topicValue), { maxLength: 8 }), fc.array(fc.tuple(poolName, pool), { maxLength: 8 }), (topicEntries, poolEntries) => {
      const topics = unique(topicEntries);
      const pools = unique(poolEntries);
      assert.deepEqual(crossReferencesFound(poolsSectionJson(topics, pools)), crossReferencesByTheRules(topics, pools));
    }),
    { numRuns: 400 },
  );
  // Large enough that the parse keeps the member names at hand (the path 8 MB documents take).
  const n = LARGE_OBJECT_MEMBERS + 10;
  const pools: [string, unknown][] = Array.from({ length: n }, (_, i) => [`p${i}`, i % 3 === 0 ? { requires: [], status: 'draining' } : { requires: [] }]);
  pools.push(['__proto__', { requires: [], status: 'inactive' }], ['constructor', { requires: [] }]);
  const topics: [string, unknown][] = Array.from({ length: n }, (_, i) => [`t${i}`, i % 7 === 0 ? [`p${i}`, `missing${i}`] : i % 2 ? `p${i}` : [`p${i}`]]);
  topics.push(['proto', '__proto__'], ['5', 'toString']);
  const expected = crossReferencesByTheRules(topics, pools);
  for (const code of ['undefined-pool', 'topic-not-routable', 'unused-pool']) assert.ok(expected.some((e) => e.startsWith(`${code}:`)), `the large case has ${code}`);
  assert.deepEqual(crossReferencesFound(poolsSectionJson(topics, pools)), expected);
});

function apply(text: string, fix: Fix): string {
  let out = text;
  for (const e of [...fix.edits].sort((a, b) => b.span.start - a.span.start)) out = out.slice(0, e.span.start) + e.text + out.slice(e.span.end);
  return out;
}

function fixesOf(text: string, kind: 'config' | 'policy' | 'pools', code: string): { text: string; fixes: Fix[] } {
  const analysis = analyzeDocument(text, 'yaml', kind);
  const p = analysis.problems.find((x) => x.code === code);
  assert.ok(p, `a ${code} problem in ${JSON.stringify(text)}`);
  return { text, fixes: fixesFor(p, text, analysis.parsed.located) };
}

test('did-you-mean: nearest first, nothing for a stranger', () => {
  assert.deepEqual(didYouMean('drainin', ['active', 'draining', 'inactive']), ['draining']);
  assert.deepEqual(didYouMean('Activ', ['active', 'draining', 'inactive']), ['active']);
  assert.deepEqual(didYouMean('banana', ['active', 'draining', 'inactive']), []);
  assert.deepEqual(didYouMean('requires', ['requires', 'status']), []);
});

test('quick fixes: an enum value and an unknown key', () => {
  const status = fixesOf('topics: {a: p}\npools:\n  p: {requires: [], status: drainin}\n', 'pools', 'enum');
  assert.equal(status.fixes[0].title, 'Did you mean "draining"?');
  assert.equal(status.fixes[0].preferred, true);
  assert.equal(apply(status.text, status.fixes[0]), 'topics: {a: p}\npools:\n  p: {requires: [], status: draining}\n');
  const key = fixesOf('topics: {a: p}\npools:\n  p:\n    require: []\n', 'pools', 'additionalProperties');
  assert.deepEqual(key.fixes.map((f) => f.title), ['Did you mean "requires"?']);
  assert.equal(apply(key.text, key.fixes[0]), 'topics: {a: p}\npools:\n  p:\n    requires: []\n');
});

test('quick fixes: "30 seconds" becomes 30s, "5s" becomes "<= 5s"', () => {
  assert.equal(goDurationFromText('30 seconds'), '30s');
  assert.equal(goDurationFromText('1 minute and 30 seconds'), '1m30s');
  assert.equal(goDurationFromText('"2 hours"'), '2h');
  assert.equal(goDurationFromText('soon'), undefined);
  assert.equal(boundFromText('"5 s"'), '<= 5s');
  const policy = fixture('policy/bad-duration.drift-policy.yaml');
  const analysis = analyzeDocument(policy, 'yaml', 'policy');
  const [interval, bound] = analysis.problems.map((p) => fixesFor(p, policy));
  assert.equal(interval[0].title, 'Write it as the Go duration 30s');
  assert.match(apply(policy, interval[0]), /\n {4}interval: 30s\n/);
  assert.match(apply(policy, bound[0]), /\n {4}notification_ok: "<= 5s"\n/);
});

test('quick fixes: remove a key replicas ignore, block or flow', () => {
  const block = fixesOf('data:\n  pools:\n    topics: {a: p}\n    pools: {p: {}}\n    _comment:\n      why: old\n  timeouts: {}\n', 'config', 'ignored-by-replicas');
  assert.equal(block.fixes[0].title, 'Remove "_comment" (replicas ignore it)');
  assert.equal(apply(block.text, block.fixes[0]), 'data:\n  pools:\n    topics: {a: p}\n    pools: {p: {}}\n  timeouts: {}\n');
  const flow = fixesOf('pools: {topics: {a: p}, extra: 1, pools: {p: {}}}\n', 'config', 'ignored-by-replicas');
  assert.equal(apply(flow.text, flow.fixes[0]), 'pools: {topics: {a: p}, pools: {p: {}}}\n');
  // JSON: the last member takes the comma before it, so the file stays JSON.
  const json = '{\n  "pools": {\n    "topics": {"a": "p"},\n    "pools": {"p": {}},\n    "_note": "x"\n  }\n}\n';
  const analysis = analyzeDocument(json, 'json', 'config');
  const ignored = analysis.problems.find((p) => p.code === 'ignored-by-replicas')!;
  const fixed = apply(json, fixesFor(ignored, json)[0]);
  assert.equal(fixed, '{\n  "pools": {\n    "topics": {"a": "p"},\n    "pools": {"p": {}}\n  }\n}\n');
  assert.deepEqual(analyzeDocument(fixed, 'json', 'config').problems, []);
});

test('quick fixes: define a missing pool in the style and indentation of the pools beside it', () => {
  const block = fixesOf('data:\n  pools:\n    topics:\n      a: gpu\n    pools:\n      default:\n        requires: []\n', 'config', 'undefined-pool');
  assert.equal(block.fixes[0].title, 'Define pool "gpu" in pools');
  const fixed = apply(block.text, block.fixes[0]);
  assert.equal(fixed, 'data:\n  pools:\n    topics:\n      a: gpu\n    pools:\n      default:\n        requires: []\n      gpu:\n        requires: []\n');
  assert.deepEqual(problemsAt(fixed, 'c.yaml', 'config'), ['6:7-6:14 info unused-pool']);
  const flow = fixesOf('topics:\n  a: [p, q]\npools:\n  p: {requires: []}\n', 'pools', 'undefined-pool');
  assert.equal(apply(flow.text, flow.fixes[0]), 'topics:\n  a: [p, q]\npools:\n  p: {requires: []}\n  q: {requires: []}\n');
  // No pools mapping at all: nothing to compare against, no warning.
  assert.deepEqual(problemsAt('topics:\n  a: p\n', 'p.yaml', 'pools'), []);
  // A comment at the end of the last pool stays on its line; the new pool goes below it, before the
  // CR of a CRLF line end (VS Code writes inserted line breaks as the document has them).
  const commented = fixesOf('topics:\r\n  a: [p, q]\r\npools:\r\n  p:\r\n    requires: [] # GPU nodes only\r\n', 'pools', 'undefined-pool');
  assert.equal(apply(commented.text, commented.fixes[0]), 'topics:\r\n  a: [p, q]\r\npools:\r\n  p:\r\n    requires: [] # GPU nodes only\n  q:\n    requires: []\r\n');
  const empty = fixesOf('topics: {a: p}\npools: {}\n', 'pools', 'undefined-pool');
  assert.equal(apply(empty.text, empty.fixes[0]), 'topics: {a: p}\npools: {p: {requires: []}}\n');
});

test('refactor: "p" <-> ["p"], and the title says the hash changes', () => {
  const text = 'topics:\n  a: p\n  b: [q]\n  c:\n    - r\npools: {p: {}, q: {}, r: {}}\n';
  const analysis = analyzeDocument(text, 'yaml', 'pools');
  const located = analysis.parsed.located;
  const toList = topicFormConversion(text, located, ['topics', 'a'])!;
  assert.match(toList.title, /the pools hash changes/);
  assert.equal(apply(text, toList), text.replace('a: p', 'a: [p]'));
  assert.equal(apply(text, topicFormConversion(text, located, ['topics', 'b'])!), text.replace('b: [q]', 'b: q'));
  assert.equal(apply(text, topicFormConversion(text, located, ['topics', 'c'])!), text.replace('c:\n    - r', 'c: r'));
  const hashOf = (t: string) => analyzeDocument(t, 'yaml', 'pools').sections[0].hash;
  assert.notEqual(hashOf(apply(text, toList)), hashOf(text));
});

test('refactor and fixes keep the document meaning what it says (review of issue 11)', () => {
  // A plain scalar with a comma is one pool name: in brackets it must stay one.
  const text = 'topics:\n  a: a,b\n  b: !!str p\n  c: &r q\npools: {"a,b": {}, p: {}, q: {}}\n';
  const located = analyzeDocument(text, 'yaml', 'pools').parsed.located;
  const toList = apply(text, topicFormConversion(text, located, ['topics', 'a'])!);
  assert.deepEqual((analyzeDocument(toList, 'yaml', 'pools').data as { topics: Record<string, unknown> }).topics.a, ['a,b']);
  assert.equal(topicFormConversion(text, located, ['topics', 'b']), undefined, 'a tagged value is not rewritten');
  assert.equal(topicFormConversion(text, located, ['topics', 'c']), undefined, 'an anchored value is not rewritten (its aliases would change)');
  // Removing an ignored key whose list sits at the key's own column removes the list too.
  const sameColumn = fixesOf('pools:\n  topics: {a: p}\n  pools: {p: {}}\n  extra:\n  - x\n  - y\ntimeouts: {}\n', 'config', 'ignored-by-replicas');
  const removed = apply(sameColumn.text, sameColumn.fixes[0]);
  assert.equal(removed, 'pools:\n  topics: {a: p}\n  pools: {p: {}}\ntimeouts: {}\n');
  // JSON: an escaped quote inside a string does not end it.
  const json = '{\n  "pools": {\n    "_note": "say \\"hi\\", then",\n    "topics": {"a": "p"},\n    "pools": {"p": {}}\n  }\n}\n';
  const ignored = analyzeDocument(json, 'json', 'config').problems.find((p) => p.code === 'ignored-by-replicas')!;
  const fixed = apply(json, fixesFor(ignored, json)[0]);
  assert.deepEqual(analyzeDocument(fixed, 'json', 'config').problems, [], fixed);
  // A flow pools mapping with a trailing comma gets one comma before the new pool, not two.
  const trailing = fixesOf('topics: {a: p, b: q}\npools: {p: {requires: []},}\n', 'pools', 'undefined-pool');
  const defined = apply(trailing.text, trailing.fixes[0]);
  assert.equal(defined, 'topics: {a: p, b: q}\npools: {p: {requires: []}, q: {requires: []}}\n');
  assert.deepEqual(analyzeDocument(defined, 'yaml', 'pools').problems, []);
});

test('driftlens validate prints cross-references (notes too) and does not fail on them', () => {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'validate', 'test/fixtures/config/cfg.routing.yaml'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(result.status, 0);
  assert.equal(
    result.stdout,
    'test/fixtures/config/cfg.routing.yaml:6:34: warning: Pool "gpu-farm" is not defined in pools: jobs on "job.fraud.process" routed to it find no worker pool. [undefined-pool]\n' +
      'test/fixtures/config/cfg.routing.yaml:7:7: warning: Topic "job.legacy.export" has nowhere to go: "legacy" is draining, "archive" is inactive, and Cordum leaves draining and inactive pools out of routing. [topic-not-routable]\n' +
      'test/fixtures/config/cfg.routing.yaml:16:7: note: No topic routes to pool "spare". [unused-pool]\n',
  );
  assert.equal(result.stderr, '1 file checked: 0 errors, 2 warnings, 1 note\n');
  const quiet = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'validate', '-q', 'test/fixtures/config/cfg.routing.yaml'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(quiet.stdout, '');
});
