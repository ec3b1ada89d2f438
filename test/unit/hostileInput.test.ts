import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Lexer, stringify } from 'yaml';
import { analyzeDocument } from '../../src/core/analysis';
import { canonicalJson, type JsonValue } from '../../src/core/canonical';
import { parseDocumentText } from '../../src/core/document';
import { MAX_NESTING_DEPTH } from '../../src/core/documentModel';
import { parseYamlFast } from '../../src/core/fastYaml';
import { parseJsonLocated } from '../../src/core/jsonParse';
import { hiddenProblemsNote, MAX_PROBLEMS_PER_FILE, problem, problemsToShow, type Problem } from '../../src/core/problems';
import { renderForDiff } from '../../src/core/publishPlan';
import { pulledYaml } from '../../src/core/pulledDocument';
import { decodeDocumentBytes } from '../../src/core/textDecoding';
import { TextLines } from '../../src/core/textLines';
import { parseYamlComplete } from '../../src/core/yamlCompose';
import { YamlNestingScanner } from '../../src/core/yamlNesting';
import { decodeEnvelope, encodeEnvelope, LiveDocumentError } from '../../src/live/envelope';
import { problemsAt } from './helpers';

const RUNS = Number(process.env.FC_RUNS ?? 60);

// ---------------------------------------------------------------------------------------------
// Nesting depth: every reader stops at the same depth, at the start of the first collection too deep.

type Style = 'map' | 'seq' | 'flow-seq' | 'flow-map';

/**
 * A chain of nested collections, one per style (block ones first: YAML cannot put a block
 * collection inside a flow one), with where each collection starts: a block mapping at its first
 * key, a block sequence at its dash, a flow collection at its bracket.
 */
function yamlChain(styles: readonly Style[]): { text: string; starts: number[] } {
  let text = '';
  const starts: number[] = [];
  let i = 0;
  for (; i < styles.length && (styles[i] === 'map' || styles[i] === 'seq'); i++) {
    const last = i === styles.length - 1;
    starts.push(text.length + i);
    text += ' '.repeat(i) + (styles[i] === 'map' ? 'k:' : '-') + (last ? ' 1\n' : styles[i + 1].startsWith('flow') ? ' ' : '\n');
  }
  let close = '';
  for (; i < styles.length; i++) {
    starts.push(text.length);
    text += styles[i] === 'flow-seq' ? '[' : '{k: ';
    close = (styles[i] === 'flow-seq' ? ']' : '}') + close;
  }
  if (close) text += '1' + close + '\n';
  return { text, starts };
}

function jsonChain(styles: readonly Style[]): { text: string; starts: number[] } {
  let text = '';
  const starts: number[] = [];
  for (const style of styles) {
    starts.push(text.length);
    text += style === 'map' || style === 'flow-map' ? '{"k":' : '[';
  }
  return { text: text + '1' + [...styles].reverse().map((s) => (s === 'map' || s === 'flow-map' ? '}' : ']')).join(''), starts };
}

function depthOf(value: unknown): number {
  let depth = 0;
  let current = value;
  while (current !== null && typeof current === 'object') {
    depth++;
    current = Array.isArray(current) ? current[0] : (current as Record<string, unknown>).k;
  }
  return depth;
}

const chainStyles = fc
  .oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: MAX_NESTING_DEPTH - 2, max: MAX_NESTING_DEPTH + 2 }), fc.integer({ min: 1, max: 1200 }))
  .chain((depth) => fc.array(fc.constantFrom<Style>('map', 'seq', 'flow-seq', 'flow-map'), { minLength: depth, maxLength: depth }))
  .map((styles) => {
    // Once a flow collection opens, everything inside it is flow too.
    const firstFlow = styles.findIndex((s) => s.startsWith('flow'));
    return firstFlow === -1 ? styles : styles.map((s, i) => (i < firstFlow ? s : s === 'map' ? 'flow-map' : s === 'seq' ? 'flow-seq' : s));
  });

function assertDepthVerdict(result: { located: { value: unknown }; problems: readonly Problem[] }, styles: readonly Style[], starts: number[], what: string): void {
  if (styles.length > MAX_NESTING_DEPTH) {
    assert.equal(result.located.value, undefined, what);
    assert.deepEqual(
      result.problems.map((p) => [p.code, p.span.start]),
      [['nesting-too-deep', starts[MAX_NESTING_DEPTH]]],
      what,
    );
  } else {
    assert.deepEqual(result.problems.filter((p) => p.code === 'nesting-too-deep'), [], what);
    assert.equal(depthOf(result.located.value), styles.length, what);
  }
}

test(`both YAML readers and the JSON reader stop past ${MAX_NESTING_DEPTH} levels, at the first collection too deep (property)`, () => {
  fc.assert(
    fc.property(chainStyles, (styles) => {
      const yaml = yamlChain(styles);
      const what = `${styles.length} levels: ${styles.slice(0, 6).join(' ')} …`;
      const fast = parseYamlFast(yaml.text);
      if (styles.length > MAX_NESTING_DEPTH) assert.equal(fast, undefined, `the fast reader leaves ${what} to the complete reader`);
      else if (fast) assert.equal(depthOf(fast.located.value), styles.length, what);
      assertDepthVerdict(parseYamlComplete(yaml.text), styles, yaml.starts, `complete reader, ${what}`);
      assertDepthVerdict(parseDocumentText(yaml.text, 'yaml'), styles, yaml.starts, `parseDocumentText, ${what}`);
      const json = jsonChain(styles);
      assertDepthVerdict(parseJsonLocated(json.text), styles, json.starts, `JSON reader, ${what}`);
    }),
    { numRuns: RUNS },
  );
});

test('3,000 levels of block maps or flow sequences: one diagnostic where the limit is passed, no crash', () => {
  let blocks = '';
  for (let i = 0; i < 3000; i++) blocks += ' '.repeat(i) + 'k:\n';
  assert.deepEqual(problemsAt(blocks, 'cfg.deep.yaml', 'config'), [`${MAX_NESTING_DEPTH + 1}:${MAX_NESTING_DEPTH + 1}-${MAX_NESTING_DEPTH + 1}:${MAX_NESTING_DEPTH + 2} error nesting-too-deep`]);
  const flow = 'pools: ' + '['.repeat(3000) + ']'.repeat(3000) + '\n';
  // "pools:" is the first level; the 256th bracket opens level 257.
  assert.deepEqual(problemsAt(flow, 'cfg.deep.yaml', 'config'), [`1:${7 + MAX_NESTING_DEPTH}-1:${8 + MAX_NESTING_DEPTH} error nesting-too-deep`]);
  const analysis = analyzeDocument(flow, 'yaml', 'config');
  assert.match(analysis.problems[0].message, /nest deeper than 256 levels/);
});

test('millions of open brackets are refused fast: the yaml parser never sees them', () => {
  const started = Date.now();
  const parsed = parseDocumentText('pools: ' + '['.repeat(4_000_000) + '\n', 'yaml');
  assert.deepEqual(parsed.problems.map((p) => p.code), ['nesting-too-deep']);
  // Generous: the `yaml` parser alone needs over 30 s for a million; the scan stops at level 257.
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
});

test('aliases that expand past the limit are stopped at the alias', () => {
  const text = 'a: &a ' + '['.repeat(200) + ']'.repeat(200) + '\nb: [' + '['.repeat(100) + '*a' + ']'.repeat(100) + ']\n';
  const parsed = parseDocumentText(text, 'yaml');
  assert.deepEqual(parsed.problems.map((p) => [p.code, p.span.start]), [['nesting-too-deep', text.indexOf('*a')]]);
  const shallow = 'a: &a [[1]]\nb: [[*a]]\n';
  assert.deepEqual(parseDocumentText(shallow, 'yaml').problems, []);
});

/** Any JSON value, with strings that make YAML pick block scalars, quotes and escapes. */
const yamlishString = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.constantFrom('- x', 'a: b', '[x]', '{y}', '#c', 'line\nbreak\n', ' lead', 'x:\n  - y', '? k', '|', '&a', '*a', '!t', '%', '---', '...'),
);
const anyValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    yamlishString,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(yamlishString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

function trueDepth(value: JsonValue): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(trueDepth));
}

test('the nesting scanner counts exactly the depth of any YAML the yaml writer produces (property)', () => {
  fc.assert(
    fc.property(anyValue, fc.integer({ min: 1, max: 4 }), fc.constantFrom<'any' | 'block' | 'flow'>('any', 'block', 'flow'), (value, indent, collectionStyle) => {
      const text = stringify(value, { indent, collectionStyle, lineWidth: 0 });
      const scanner = new YamlNestingScanner();
      for (const lexeme of new Lexer().lex(text)) scanner.next(lexeme);
      assert.equal(scanner.deepest, trueDepth(value), text);
    }),
    { numRuns: RUNS * 5 },
  );
});

test('the nesting scanner on hand-written block forms: explicit keys, compact sequences, anchors, tags, comments', () => {
  const cases: [string, number][] = [
    ['- - - x\n  - y\n- z\n', 3],
    ['a:\n- 1\n- [2, {b: 3}]\nc: 4\n', 4],
    ['? - a\n  - b\n: [x]\n', 2],
    ['a: &anchor\n  b: !!map\n    c: 1\n# - - - - comment\nd: |\n  - - - - text\n  e: f\n', 3],
    ['a: "x:\n  - y"\nb: plain\n  - continued\n', 1],
    ['- a: 1\n  b:\n    - c\n- d\n', 3],
    ['a: 1\n---\nb: [[[1]]]\n', 4],
  ];
  for (const [text, depth] of cases) {
    const scanner = new YamlNestingScanner();
    for (const lexeme of new Lexer().lex(text)) scanner.next(lexeme);
    assert.equal(scanner.deepest, depth, text);
  }
});

test('a missing ] in a long topics map is a syntax error where it is, not "nested too deep" (issue 11)', () => {
  // The `yaml` lexer abandons the unclosed flow sequence and reads the following lines as multi-line
  // plain scalars; counting a new block per such scalar once reported nesting past the limit.
  const lines = ['pools:', '  topics:'];
  for (let i = 0; i < 3000; i++) lines.push(`    job.team-${i}.process: pool-${i}`);
  lines.push('  pools:');
  for (let i = 0; i < 3000; i++) lines.push(`    pool-${i}:`, '      requires: []');
  lines[1502] = '    job.team-x.process: [1';
  const text = lines.join('\n') + '\n';
  const problems = analyzeDocument(text, 'yaml', 'config').problems;
  assert.deepEqual(problems.filter((p) => p.code === 'nesting-too-deep'), []);
  const first = problems[0];
  assert.equal(first.code, 'yaml-syntax');
  // `yaml` reports the unclosed sequence where the next line starts.
  assert.equal(text.slice(0, first.span.start).split('\n').length - 1, 1503, 'the first error is right below the line with the [');
  assert.match(first.message, /Flow sequence .* end with a \]/);
});

test('a document nested exactly to the limit goes through every stage: validation, hashes, diff, pull', () => {
  let pools: JsonValue = 'x';
  for (let i = 0; i < MAX_NESTING_DEPTH - 2; i++) pools = i % 2 ? [pools] : { k: pools };
  const data = { settings: { deep: pools } } as { [key: string]: JsonValue }; // data -> settings -> deep chain
  const text = JSON.stringify(data);
  const analysis = analyzeDocument(text, 'json', 'config');
  assert.deepEqual(analysis.problems.filter((p) => p.code === 'nesting-too-deep'), []);
  assert.ok(canonicalJson(analysis.data as JsonValue).length > 0);
  assert.ok(renderForDiff(analysis.data as JsonValue).length > 0);
  const envelope = { scope: 'system' as const, scopeId: 'default', revision: 1, updatedAt: '2026-11-30T00:00:00Z', data: { deep: (data.settings as { deep: JsonValue }).deep } };
  const stored = encodeEnvelope(envelope); // the envelope adds the level "settings" took
  assert.doesNotThrow(() => pulledYaml('cfg:system:default', decodeEnvelope(stored)));
});

test('a live document nested deeper than the limit is unreadable, with the reason, not a stack overflow', () => {
  const stored = '{"scope":"system","scope_id":"default","revision":3,"updated_at":"2026-11-30T00:00:00Z","data":{"pools":' + '['.repeat(3000) + ']'.repeat(3000) + '}}';
  assert.throws(() => decodeEnvelope(stored), (e: unknown) => e instanceof LiveDocumentError && /nests deeper than 256 levels/.test(e.message));
});

// ---------------------------------------------------------------------------------------------
// Bytes and line breaks

test('bytes that are not UTF-8 are an error at the replacement character, with the byte offset', () => {
  const bytes = Buffer.concat([Buffer.from('topics:\n  job.a: "caf'), Buffer.from([0xe9]), Buffer.from('"\n  job.b: x\n')]);
  const decoded = decodeDocumentBytes(bytes);
  assert.equal(decoded.text, 'topics:\n  job.a: "caf\ufffd"\n  job.b: x\n');
  assert.equal(decoded.problems.length, 1);
  const [p] = decoded.problems;
  assert.equal(p.code, 'invalid-utf8');
  assert.equal(p.severity, 'error');
  assert.deepEqual(p.span, { start: 21, end: 22 });
  assert.match(p.message, /^Byte 0xE9 at byte offset 21 is not valid UTF-8; DriftLens reads it as U\+FFFD/);
  // The analysis carries it, so hashes and publishing refuse the data.
  const analysis = analyzeDocument(decoded.text, 'yaml', 'pools', { encodingProblems: decoded.problems });
  assert.deepEqual(analysis.parsed.problems.map((x) => x.code), ['invalid-utf8']);
});

test('a byte-order mark is dropped, valid UTF-8 gives no problem, and offsets after a BOM count from the text', () => {
  assert.deepEqual(decodeDocumentBytes(Buffer.from('\ufeffa: "é😀"\n')), { text: 'a: "é😀"\n', problems: [] });
  const decoded = decodeDocumentBytes(Buffer.concat([Buffer.from('\ufeff😀'), Buffer.from([0xc3, 0x28])]));
  assert.deepEqual(decoded.problems.map((p) => [p.span, /byte offset (\d+)/.exec(p.message)?.[1]]), [[{ start: 2, end: 3 }, '7']]);
});

test('every reported run of bad bytes sits on replacement characters, and every replacement is reported (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      fc.pre(!Buffer.from(bytes).includes(Buffer.from('\ufffd'))); // a real U+FFFD in the input is no error
      const { text, problems } = decodeDocumentBytes(bytes);
      let covered = 0;
      for (const p of problems.slice(0, 100)) {
        assert.match(text.slice(p.span.start, p.span.end), /^\ufffd+$/);
        covered += p.span.end - p.span.start;
      }
      if (problems.length <= 100) assert.equal(covered, (text.match(/\ufffd/g) ?? []).length);
    }),
    { numRuns: RUNS * 10 },
  );
});

test('a JSON byte-order mark is accepted; an invisible character in the wrong place is named by code point', () => {
  assert.deepEqual(parseJsonLocated('\ufeff{"a": 1}').problems, []);
  const [p] = parseJsonLocated('{"a": \ufeff1}').problems;
  assert.equal(p.message, 'Expected a JSON value, found the invisible character U+FEFF.');
});

test('lines ended by a carriage return alone read like any other line breaks, in both readers and in positions', () => {
  const lf = 'topics:\n  job.a: a\n  job.a: b\npools:\n  a:\n    requires: [1]\n';
  const cr = lf.replace(/\n/g, '\r');
  assert.deepEqual(problemsAt(cr, 'pools.yaml', 'pools'), problemsAt(lf, 'pools.yaml', 'pools'));
  assert.deepEqual(problemsAt(cr, 'pools.yaml', 'pools'), ['3:3-3:8 error duplicate-key', '6:16-6:17 error type']);
  assert.deepEqual(analyzeDocument(cr, 'yaml', 'pools').data, analyzeDocument(lf, 'yaml', 'pools').data);
  // Outside the fast reader's subset too (an anchor makes `yaml` read it).
  const anchored = 'topics:\r  job.a: &x a\r  job.b: *x\rpools: {}\r';
  assert.deepEqual(parseDocumentText(anchored, 'yaml').located.value, { topics: { 'job.a': 'a', 'job.b': 'a' }, pools: {} });
  const lines = new TextLines('a\rb\r\nc\nd');
  assert.deepEqual([2, 4, 5, 7].map((o) => lines.positionAt(o)), [
    { line: 1, character: 0 },
    { line: 1, character: 2 },
    { line: 2, character: 0 },
    { line: 3, character: 0 },
  ]);
});

test('several YAML documents in one file: our words, at the second document marker', () => {
  const text = 'topics: {}\n---\npools: {}\n---\nx: 1\n';
  const parsed = parseDocumentText(text, 'yaml');
  assert.deepEqual(parsed.problems.map((p) => [p.code, p.span.start, p.message]), [
    ['yaml-multiple-documents', text.indexOf('---'), 'This file has 3 YAML documents; DriftLens reads exactly one (one config document, section file or drift policy per file).'],
  ]);
  assert.ok(!parsed.problems.some((p) => /parseAllDocuments/.test(p.message)));
});

test('150,000 pools no topic routes to: a note at each pool\'s key, no stack overflow', () => {
  const count = 150_000;
  const lines = ['pools:', '  topics:', '    job.a: p0', '  pools:'];
  for (let i = 0; i < count; i++) lines.push(`    pool-${i}:`, '      requires: [gpu]');
  const text = lines.join('\n') + '\n';
  // 5.6 MB, under the 8 MB limit: before the fix, analysis threw RangeError (Maximum call stack size exceeded).
  const analysis = analyzeDocument(text, 'yaml', 'config');
  assert.equal(analysis.parsed.reader, 'fast-yaml');
  const unused = analysis.problems.filter((p) => p.code === 'unused-pool');
  assert.equal(unused.length, count);
  for (const i of [0, 17, count / 2, count - 1]) {
    const at = text.indexOf(`    pool-${i}:\n`) + 4;
    const note = unused.find((p) => p.data?.pool === `pool-${i}`);
    assert.deepEqual(note?.span, { start: at, end: at + `pool-${i}`.length }, `pool-${i}`);
  }
  assert.deepEqual(analysis.problems.filter((p) => p.code === 'undefined-pool').map((p) => p.data?.pool), ['p0']);
});

// ---------------------------------------------------------------------------------------------
// Output caps

test('problems per file are capped as VS Code caps them: errors first, the last place counts the rest', () => {
  const warnings = Array.from({ length: 600 }, (_, i) => problem({ start: 2 * i, end: 2 * i + 1 }, 'w', 'x', 'warning'));
  const errors = Array.from({ length: 900 }, (_, i) => problem({ start: 2 * i + 1, end: 2 * i + 2 }, 'e', 'y'));
  const { shown, hidden } = problemsToShow([...warnings, ...errors]);
  assert.equal(shown.length, MAX_PROBLEMS_PER_FILE - 1);
  assert.equal(shown.filter((p) => p.severity === 'error').length, 900);
  assert.deepEqual(shown, [...shown].sort((a, b) => a.span.start - b.span.start));
  assert.equal(hidden.length, 501);
  assert.equal(hiddenProblemsNote(hidden), '… and 501 more problems not shown (501 warnings); DriftLens shows up to 1,000 per file, errors first.');
  assert.deepEqual(problemsToShow(errors.slice(0, MAX_PROBLEMS_PER_FILE)).hidden, []);
});
