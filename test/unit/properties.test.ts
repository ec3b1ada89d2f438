import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { Document, isCollection, visit } from 'yaml';
import { analyzeDocument } from '../../src/core/analysis';
import { canonicalJson, type JsonValue } from '../../src/core/canonical';
import { parseDocumentText } from '../../src/core/document';
import { parseYamlFast } from '../../src/core/fastYaml';
import { computeSectionHash } from '../../src/core/sectionHash';
import { lineEndingChange, TextLines } from '../../src/core/textLines';
import { parseYamlComplete } from '../../src/core/yamlCompose';
import { ROOT } from './helpers';

const RUNS = Number(process.env.FC_RUNS ?? 300);

const name = fc.stringMatching(/^[a-z][a-z0-9._-]{0,12}$/);
const oddString = fc.oneof(name, fc.string({ maxLength: 12 }), fc.constantFrom('true', 'null', '0x1F', '1e3', '- x', 'a: b', '#c', "it's", 'q"q', ' lead', 'trail ', '<&>', '\u2028'));
const topicValue = fc.oneof(name, fc.array(name, { minLength: 1, maxLength: 3 }));
const poolsSection = fc.record({
  topics: fc.dictionary(name, topicValue, { minKeys: 1, maxKeys: 6 }),
  pools: fc.dictionary(name, fc.record({ requires: fc.array(name, { maxLength: 3 }), status: fc.constantFrom('active', 'draining', 'inactive') }, { requiredKeys: ['requires'] }), { maxKeys: 5 }),
});

/** Any JSON value Go can carry (finite numbers, any strings). */
const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    oddString,
    fc.integer({ min: -1e9, max: 1e9 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(oddString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

function shuffleKeys(value: JsonValue, seed: number): JsonValue {
  if (Array.isArray(value)) return value.map((v, i) => shuffleKeys(v, seed + i));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  const rotated = keys.map((_, i) => keys[(i + seed) % keys.length]).reverse();
  const out: { [key: string]: JsonValue } = {};
  for (const key of rotated) Object.defineProperty(out, key, { value: shuffleKeys(value[key], seed + 1), enumerable: true, writable: true, configurable: true });
  return out;
}

/**
 * How a value is written. `flowLevel`: undefined writes every collection in block style; N writes
 * the collections nested N or more deep in flow style (`{a: 1}`, `[x, y]`), so 0 is all flow and 1
 * or 2 mix both styles, as hand-edited files do.
 */
const styles = fc.record({
  indent: fc.integer({ min: 1, max: 6 }),
  stringType: fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE') as fc.Arbitrary<'PLAIN' | 'QUOTE_DOUBLE' | 'QUOTE_SINGLE'>,
  keyType: fc.constantFrom(null, 'PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE') as fc.Arbitrary<null | 'PLAIN' | 'QUOTE_DOUBLE' | 'QUOTE_SINGLE'>,
  flowLevel: fc.constantFrom(undefined, 0, 1, 2),
  seed: fc.nat(20),
  json: fc.boolean(),
});
type Style = typeof styles extends fc.Arbitrary<infer S> ? S : never;

function render(value: JsonValue, style: Style): { text: string; format: 'yaml' | 'json' } {
  const shuffled = shuffleKeys(value, style.seed);
  if (style.json) return { text: JSON.stringify(shuffled, null, style.indent - 1), format: 'json' };
  const document = new Document(shuffled);
  const { flowLevel } = style;
  if (flowLevel !== undefined) {
    visit(document, {
      Collection(_, node, ancestors) {
        if (ancestors.filter((a) => isCollection(a)).length >= flowLevel) node.flow = true;
      },
    });
  }
  const text = document.toString({ indent: style.indent, defaultStringType: style.stringType, defaultKeyType: style.keyType, lineWidth: 0 });
  return { text, format: 'yaml' };
}

test('formatting never changes a section hash: key order, indentation, quoting, YAML vs JSON', () => {
  fc.assert(
    fc.property(poolsSection, styles, styles, (section, a, b) => {
      const expected = computeSectionHash('pools', section).hash;
      assert.ok(expected);
      for (const style of [a, b]) {
        const { text, format } = render({ pools: section } as JsonValue, style);
        const parsed = parseDocumentText(text, format);
        assert.deepEqual(parsed.problems, [], text);
        const data = parsed.located.value as { pools: JsonValue };
        assert.equal(computeSectionHash('pools', data.pools).hash, expected, text);
      }
    }),
    { numRuns: RUNS },
  );
});

test('any change of a value changes the hash', () => {
  fc.assert(
    fc.property(poolsSection, fc.nat(), name, (section, pick, replacement) => {
      const topics = Object.keys(section.topics);
      const topic = topics[pick % topics.length];
      const before = section.topics[topic];
      const changed = typeof before === 'string' ? replacement : [...before.slice(0, -1), replacement];
      fc.pre(JSON.stringify(changed) !== JSON.stringify(before));
      const mutated = { ...section, topics: { ...section.topics, [topic]: changed } };
      assert.notEqual(computeSectionHash('pools', mutated).hash, computeSectionHash('pools', section).hash);
    }),
    { numRuns: RUNS },
  );
});

test('any JSON value survives YAML and JSON rendering with identical canonical bytes', () => {
  fc.assert(
    fc.property(fc.dictionary(oddString, jsonValue, { minKeys: 1, maxKeys: 5 }), styles, (value, style) => {
      const { text, format } = render(value, style);
      const parsed = parseDocumentText(text, format);
      assert.deepEqual(parsed.problems.filter((p) => p.severity === 'error'), [], text);
      assert.equal(canonicalJson(parsed.located.value as JsonValue), canonicalJson(value), text);
    }),
    { numRuns: RUNS },
  );
});

// The share of the yaml writer's documents the fast reader answers: all of them since issue 11 (it
// covers compact nested sequences, block scalars, multi-line flow collections...). Measured with
// FC_RUNS=3000 FC_REPORT_SHARE=1: block style 759 of 759, flow or mixed style 2241 of 2241. A change
// that makes it give up again fails here instead of quietly comparing fewer documents
// (yamlReaders.test.ts holds the same 100% over every construct, written by hand-made styles).
const FAST_SHARE_FLOOR = { block: 1, flow: 1 };

test('where the fast reader answers, it agrees with the complete YAML reader (values and spans), and it answers its share', () => {
  const seen = { block: { documents: 0, answered: 0 }, flow: { documents: 0, answered: 0 } };
  fc.assert(
    fc.property(fc.dictionary(oddString, jsonValue, { minKeys: 1, maxKeys: 5 }), styles, (value, style) => {
      const { text } = render(value, { ...style, json: false });
      const tally = seen[style.flowLevel === undefined ? 'block' : 'flow'];
      tally.documents++;
      const fast = parseYamlFast(text);
      if (!fast) return;
      tally.answered++;
      const complete = parseYamlComplete(text);
      assert.equal(canonicalJson(fast.located.value as JsonValue), canonicalJson(complete.located.value as JsonValue), text);
      for (const key of Object.keys(value)) {
        assert.deepEqual(fast.located.locate([key]), complete.located.locate([key]), `${key} in\n${text}`);
      }
    }),
    { numRuns: RUNS },
  );
  for (const style of ['block', 'flow'] as const) {
    const { documents, answered } = seen[style];
    assert.ok(documents > 0);
    if (process.env.FC_REPORT_SHARE) console.log(`fast reader, ${style} style: ${answered} of ${documents} (${((100 * answered) / documents).toFixed(1)}%)`);
    assert.ok(answered / documents >= FAST_SHARE_FLOOR[style], `the fast reader answered ${answered} of ${documents} ${style}-style documents, below ${FAST_SHARE_FLOOR[style] * 100}%`);
  }
});

test('malformed input never crashes the analysis: any text gives problems, not exceptions', () => {
  const seeds = ['config/cfg.system.default.yaml', 'config/cfg.broken.yaml', 'policy/drift-policy.yaml', 'cordum/pools.yaml'].map((f) => readFileSync(path.join(ROOT, 'test/fixtures', f), 'utf8'));
  const mutated = fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(40), fc.string({ maxLength: 8, unit: 'binary' })).map(([text, at, cut, insert]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + cut);
  });
  const kinds = fc.constantFrom('config', 'pools', 'timeouts', 'policy') as fc.Arbitrary<'config' | 'pools' | 'timeouts' | 'policy'>;
  fc.assert(
    fc.property(fc.oneof(mutated, fc.string({ maxLength: 200, unit: 'binary' })), kinds, fc.constantFrom('yaml', 'json') as fc.Arbitrary<'yaml' | 'json'>, (text, kind, format) => {
      const analysis = analyzeDocument(text, format, kind);
      for (const p of analysis.problems) {
        assert.ok(p.span.start >= 0 && p.span.start <= p.span.end && p.span.end <= text.length, `span ${JSON.stringify(p.span)} inside the text`);
        assert.ok(p.message.length > 0);
      }
      // A document that analyses without errors always has its sections decided (hash or reason).
      for (const s of analysis.sections) assert.ok(s.hash || s.reason);
      // The fast reader never accepts what YAML rejects, and never reads it differently.
      const fast = format === 'yaml' ? parseYamlFast(text) : undefined;
      if (fast) {
        const complete = parseYamlComplete(text);
        assert.deepEqual(complete.problems.filter((p) => p.code.startsWith('yaml-')), [], `yaml rejects what the fast reader accepted:\n${text}`);
        assert.equal(canonicalJson(fast.located.value ?? null), canonicalJson(complete.located.value ?? null), text);
      }
    }),
    { numRuns: RUNS * 2 },
  );
});

test('the line an edit ends on, found from the change alone, is the line the edited text has there', () => {
  // The extension sends the worker this line with every edit as a check; a wrong one is a desync and a resend of 8 MB.
  const piece = fc.constantFrom('a', 'b: 1', ' ', '\n', '\r\n', '#x', '\u00e9', '\u{1F600}');
  const text = fc.array(piece, { maxLength: 30 }).map((p) => p.join(''));
  const change = fc.record({ from: fc.nat(), to: fc.nat(), insert: fc.array(piece, { maxLength: 6 }).map((p) => p.join('')) });
  // VS Code's positions cannot fall between the CR and LF of a line break.
  const notInsideCrLf = (t: string, at: number) => (at > 0 && t[at - 1] === '\r' && t[at] === '\n' ? at - 1 : at);
  fc.assert(
    fc.property(text, fc.array(change, { minLength: 1, maxLength: 3 }), (start, changes) => {
      let current = start;
      let last: { range: { start: { line: number; character: number } }; rangeOffset: number; text: string } | undefined;
      // Each change's range and offset are in the text the previous ones left, as VS Code sends them.
      for (const c of changes) {
        const a = notInsideCrLf(current, Math.min(c.from, c.to) % (current.length + 1));
        const b = Math.max(a, notInsideCrLf(current, Math.max(c.from, c.to) % (current.length + 1)));
        last = { range: { start: new TextLines(current).positionAt(a) }, rangeOffset: a, text: c.insert };
        current = current.slice(0, a) + c.insert + current.slice(b);
      }
      const after = new TextLines(current);
      const end = after.positionAt(last!.rangeOffset + last!.text.length);
      assert.deepEqual(lineEndingChange(last!), { line: end.line, offset: after.offsetAt(end.line, 0) });
    }),
    { numRuns: RUNS },
  );
  // A lone CR is a line break to VS Code too: no guess, the caller asks the editor.
  assert.equal(lineEndingChange({ range: { start: { line: 0, character: 0 } }, rangeOffset: 0, text: 'a\rb' }), undefined);
});
