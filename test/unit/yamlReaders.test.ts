import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseYamlFast } from '../../src/core/fastYaml';
import { parseYamlComplete } from '../../src/core/yamlCompose';
import { assertSameReading, readerView, renderYaml, rootTree } from './yamlDocuments';

const RUNS = Number(process.env.FC_RUNS ?? 300);

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
    { numRuns: RUNS },
  );
  assert.equal(seen.answered, seen.documents);
});
