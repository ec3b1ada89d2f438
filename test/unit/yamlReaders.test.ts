import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseYamlFast } from '../../src/core/fastYaml';
import { parseYamlComplete } from '../../src/core/yamlCompose';
import { assertSameReading, readerView, renderYaml, rootTree } from './yamlDocuments';

const RUNS = Number(process.env.FC_RUNS ?? 300);
// Replays a failure fast-check printed: FC_SEED=<seed> FC_PATH=<path> (the path is optional).
const REPLAY = process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {};

// The fast reader must answer every valid document of the grammar it covers (100%), and read it
// exactly as the complete reader does: value, the spans of every key and value, the problems.
test('differential: the fast reader answers every generated document and reads it as the `yaml` path does (block, flow and mixed styles)', () => {
  const seen = { documents: 0, answered: 0 };
  fc.assert(
    fc.property(rootTree, fc.nat(), fc.constantFrom(0, 0.3, 0.7, 1), fc.boolean(), (root, seed, flow, badTags) => {
      const text = renderYaml(root, seed, { flow, badTags });
      const complete = parseYamlComplete(text);
      const syntax = complete.problems.filter((p) => p.code === 'yaml-syntax' || p.code === 'yaml-warning');
      assert.deepEqual(syntax, [], `the generator wrote invalid YAML:\n${JSON.stringify(text)}`);
      seen.documents++;
      const fast = parseYamlFast(text);
      assert.ok(fast, `the fast reader gave up on\n${JSON.stringify(text)}`);
      seen.answered++;
      assertSameReading(readerView(fast), readerView(complete), text);
    }),
    { numRuns: RUNS, ...REPLAY },
  );
  assert.equal(seen.answered, seen.documents);
});

// Mutations of valid documents: characters and lines inserted, deleted, duplicated. Neither reader
// may throw; wherever the fast reader still answers, it must read what the `yaml` path reads (it
// may give up on anything, never accept what `yaml` rejects or read it differently).
const edit = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(' ', '  ', '\t', '\n', '\r\n', '\r', '-', '- ', ':', ': ', '#', ' #', '"', "'", '\\', '|', '>', '|-', '>+2', '[', ']', '{', '}', ',', '&a ', '*a', '!!str ', '!!omap ', '!', '%YAML 1.2\n', '---\n', '...\n', '?', '\ufeff', 'x'), fc.string({ maxLength: 3 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete-line' as const), at: fc.nat() }),
);
type Edit = typeof edit extends fc.Arbitrary<infer E> ? E : never;

function applyEdit(text: string, e: Edit): string {
  const at = e.at % (text.length + 1);
  if (e.kind === 'insert') return text.slice(0, at) + e.text + text.slice(at);
  if (e.kind === 'delete') return text.slice(0, at) + text.slice(at + e.length);
  const lines = text.split('\n');
  const i = e.at % lines.length;
  if (e.kind === 'duplicate-line') lines.splice(i, 0, lines[i]);
  else lines.splice(i, 1);
  return lines.join('\n');
}

test('fuzzed mutations never crash either reader, and where the fast reader answers it agrees with the `yaml` path', () => {
  fc.assert(
    fc.property(rootTree, fc.nat(), fc.constantFrom(0, 0.5, 1), fc.array(edit, { minLength: 1, maxLength: 3 }), (root, seed, flow, edits) => {
      const text = edits.reduce(applyEdit, renderYaml(root, seed, { flow, badTags: true }));
      const complete = parseYamlComplete(text);
      const fast = parseYamlFast(text);
      if (!fast) return;
      const errors = complete.problems.filter((p) => p.code === 'yaml-syntax' || p.code === 'yaml-warning' || p.code === 'nesting-too-deep' || p.code.startsWith('yaml-alias'));
      assert.deepEqual(errors, [], `the fast reader accepted what \`yaml\` rejects:\n${JSON.stringify(text)}`);
      assertSameReading(readerView(fast), readerView(complete), text);
    }),
    { numRuns: RUNS * 2, ...REPLAY },
  );
});

// Mutations the fuzzer found where the fast reader answered and read something else than `yaml`
// (each read differently before its fix): a byte-order mark inside the text; blank lines deeper than
// a block scalar's explicit indentation, before any text or after text whose first line was deeper
// still; a blank line indented with a tab, after an empty value or an empty document; properties alone
// on a line under a dash, followed by a sequence entry at the dash's column; and a kept block scalar
// whose last line is spaces with no line break at the end of the file; a plain scalar below its key
// with a comment line left of the key's column between them, then a sibling key.
test('fuzzer findings: the fast reader leaves these to `yaml` or reads them as it does', () => {
  const found = [
    '\ufeff# leading commaa0: aaaa0a # note\n\ufeff# leading commaa0: aaaa0a # note\n',
    'key: >+3\n     \n\n\na0: -100000\n',
    'k: |3\n     \n',
    ' "a0": # {}\n\t',
    'a:\n  b:\n  \t',
    '- &a0 \'a00000\'\n-\n !!100000\n- *a0\n',
    '- |+2\n    a0 aa\n ',
    '# leading comment\n--- # start\n# trailing comment\n\t',
    'x:\n - >3-\n      a000\n    a0a00\n     \n\naaa: 1\n',
    'a:\n c:\n#!\n   x\n k: 1\n',
  ];
  for (const text of found) {
    const complete = parseYamlComplete(text);
    const fast = parseYamlFast(text);
    if (fast) assertSameReading(readerView(fast), readerView(complete), text);
  }
});

