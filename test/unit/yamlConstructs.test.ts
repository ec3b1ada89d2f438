import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeDocument } from '../../src/core/analysis';
import { parseDocumentText } from '../../src/core/document';
import { LARGE_OBJECT_MEMBERS, MAX_NESTING_DEPTH } from '../../src/core/documentModel';
import { parseYamlFast } from '../../src/core/fastYaml';
import { MAX_ALIAS_EXPANSION_NODES, parseYamlComplete } from '../../src/core/yamlCompose';
import { assertSameReading, readerView } from './yamlDocuments';

/** Both readers on one text: the fast one must answer, and read it as the `yaml` path does. */
function fastRead(text: string) {
  const fast = parseYamlFast(text);
  assert.ok(fast, `the fast reader gave up on\n${JSON.stringify(text)}`);
  assertSameReading(readerView(fast), readerView(parseYamlComplete(text)), text);
  const parsed = parseDocumentText(text, 'yaml');
  assert.equal(parsed.reader, 'fast-yaml');
  return parsed;
}

/** The [start, end] of the n-th occurrence (0-based) of `needle` in `text`. */
function at(text: string, needle: string, n = 0): { start: number; end: number } {
  let i = -1;
  for (let k = 0; k <= n; k++) i = text.indexOf(needle, i + 1);
  assert.ok(i >= 0, `${needle} in ${text}`);
  return { start: i, end: i + needle.length };
}

test('document markers, a %YAML 1.2 directive and comments anywhere are read by the fast reader', () => {
  const text = '# head\n%YAML 1.2 # version\n--- # start\ntopics: # t\n  # inside\n  job.a: a   # after\n    # deeper\npools: {} # p\n... # end\n# tail\n';
  const parsed = fastRead(text);
  assert.deepEqual(parsed.located.value, { topics: { 'job.a': 'a' }, pools: {} });
  assert.deepEqual(parsed.problems, []);
  const value = text.indexOf('a   # after');
  assert.deepEqual(parsed.located.locate(['topics', 'job.a']).value, { start: value, end: value + 1 });
});

test('block scalars: every chomping, explicit indentation, leading and trailing blank lines, more-indented folded lines, end of file', () => {
  const cases: [string, string][] = [
    ['a: |\n  x\n  y\n\nb: 1\n', 'x\ny\n'],
    ['a: |-\n  x\n\n', 'x'],
    ['a: |+\n  x\n\n\nb: 1\n', 'x\n\n\n'],
    ['a: >\n  one\n  two\n\n  three\n    deeper\n  four\n', 'one two\nthree\n  deeper\nfour\n'],
    ['a: >-\n\n  lead\n  text\n', '\nlead text'],
    ['a: |2-\n    two more\n  base\n', '  two more\nbase'],
    ['a: >+1\n  x\n y\n\n', ' x\ny\n\n'],
    ['a: | # note\n  x', 'x\n'],
    ['a: |\nb: 1\n', ''],
    ['- |\n  in a list\n- >-\n   folded\n   here\n', ''],
  ];
  for (const [text, expected] of cases) {
    const parsed = fastRead(text);
    const value = parsed.located.value as { a?: string } | string[];
    if (Array.isArray(value)) assert.deepEqual(value, ['in a list\n', 'folded here']);
    else assert.equal(value.a, expected, text);
  }
  // The span: from the header to the last character of text.
  const text = 'a: >-\n  x\n  y\n\nb: 1\n';
  assert.deepEqual(fastRead(text).located.locate(['a']).value, { start: 3, end: text.indexOf('y') + 1 });
});

test('multi-line plain, single- and double-quoted scalars fold as YAML 1.2 says', () => {
  const text = 'plain: one\n  two\n\n  three\nsingle: \'it\'\'s\n  folded\'\ndouble: "a\\t\n  b \\\n  c"\nbelow:\n  on the next line\n';
  const parsed = fastRead(text);
  assert.deepEqual(parsed.located.value, { plain: 'one two\nthree', single: "it's folded", double: 'a\t b c', below: 'on the next line' });
  assert.deepEqual(parsed.located.locate(['plain']).value, { start: 7, end: text.indexOf('three') + 5 });
  assert.deepEqual(parsed.located.locate(['double']).value, { start: text.indexOf('"a'), end: text.indexOf('c"') + 2 });
});

test('flow collections nested and across lines, with trailing commas, comments and empty values', () => {
  const text = 'pools: {a: {requires: [x,\n    y,],},   # comment\n  b: {requires: []},\n}\nlist: [1, "two",\n  [three]]\nempty: {k: , j}\n';
  const parsed = fastRead(text);
  assert.deepEqual(parsed.located.value, { pools: { a: { requires: ['x', 'y'] }, b: { requires: [] } }, list: [1, 'two', ['three']], empty: { k: null, j: null } });
  assert.deepEqual(parsed.located.locate(['pools', 'a', 'requires', 1]).value, at(text, 'y'));
});

// Found by the differential property test (CI, seed 857610159): an empty value whose line ends
// after the colon made the fast reader give up. `yaml` places the null at the first character after
// the colon's blanks: the line break (CR of CRLF included), or a comment.
test('flow maps with an empty value or a valueless key before a line break are read, the null placed where `yaml` places it', () => {
  const cases: [string, number][] = [
    ["'key': {\"key\":\n }\n'key': >\n\n a\n\n", "'key': {\"key\":".length],
    ['k: {a:  # c\n }\n', 'k: {a:  '.length],
    ['k: {a: \t\r\n }\r\n', 'k: {a: \t'.length],
    ['k: {a:\n  , b: 1}\n', 'k: {a:'.length],
    ['k: {a\n , b}\n', 'k: {a'.length],
    ['k: {a # c\n }\n', 'k: {a'.length],
  ];
  for (const [text, nullAt] of cases) {
    const parsed = fastRead(text);
    const path = text.startsWith("'key'") ? ['key', 'key'] : ['k', 'a'];
    assert.deepEqual(parsed.located.locate(path).value, { start: nullAt, end: nullAt }, JSON.stringify(text));
  }
  // A colon on the next line is `yaml`'s leniency (YAML 1.2 keeps an implicit key on one line): left to it.
  assert.equal(parseYamlFast('k: {"a"\n : 1}\n'), undefined);
});

test('anchors and aliases: the whole node is reused, the alias has its own span, problems inside count per use as in the `yaml` path', () => {
  const text = 'base: &pool\n  requires: [gpu]\n  status: active\npools:\n  a: *pool\n  b: *pool\nlist: [&x 1, *x]\n';
  const parsed = fastRead(text);
  const pool = { requires: ['gpu'], status: 'active' };
  assert.deepEqual(parsed.located.value, { base: pool, pools: { a: pool, b: pool }, list: [1, 1] });
  assert.deepEqual(parsed.located.locate(['pools', 'b']).value, at(text, '*pool', 1));
  // Inside an alias, spans point at the anchored node (where the text is).
  assert.deepEqual(parsed.located.locate(['pools', 'b', 'status']).value, at(text, 'active'));
  const duplicate = 'a: &x {k: 1, k: 2}\nb: *x\n';
  assert.deepEqual(fastRead(duplicate).problems.map((p) => p.code), ['duplicate-key', 'duplicate-key']);
});

test('aliases the fast reader leaves to `yaml` keep their problems: alias bomb, cycle, unknown anchor, too deep', () => {
  let bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 8; i++) bomb += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  assert.ok(10 ** 8 > MAX_ALIAS_EXPANSION_NODES);
  assert.equal(parseYamlFast(bomb), undefined);
  const parsed = parseDocumentText(bomb, 'yaml');
  assert.deepEqual(parsed.problems.map((p) => p.code), ['yaml-alias-bomb']);
  assert.equal(parseYamlFast('a: &x [*x]\n'), undefined);
  assert.deepEqual(parseDocumentText('a: &x [*x]\n', 'yaml').problems.map((p) => p.code), ['yaml-alias-cycle']);
  assert.equal(parseYamlFast('a: *nowhere\n'), undefined);
  const deep = 'a: &a ' + '['.repeat(200) + ']'.repeat(200) + '\nb: [' + '['.repeat(100) + '*a' + ']'.repeat(100) + ']\n';
  assert.equal(parseYamlFast(deep), undefined);
  assert.deepEqual(parseDocumentText(deep, 'yaml').problems.map((p) => [p.code, p.span.start]), [['nesting-too-deep', deep.indexOf('*a')]]);
  assert.ok(MAX_NESTING_DEPTH === 256);
  const shallow = 'a: &a [[1]]\nb: [[*a]]\n';
  assert.deepEqual(fastRead(shallow).located.value, { a: [[1]], b: [[[[1]]]] });
});

test('core tags resolve as YAML 1.2 core schema says, in the fast reader', () => {
  const text = 'a: !!str 123\nb: !!int "12"\nc: !!float 1.5\nd: !!bool TRUE\ne: !!null ~\nf: !<tag:yaml.org,2002:str> 0x1F\ng: !!map {k: v}\nh: !!seq\n  - 1\ni: !!str\nj: !!int 0o17\n';
  const parsed = fastRead(text);
  assert.deepEqual(parsed.located.value, { a: '123', b: 12, c: 1.5, d: true, e: null, f: '0x1F', g: { k: 'v' }, h: [1], i: '', j: 15 });
  assert.deepEqual(parsed.problems, []);
  assert.deepEqual(parsed.located.locate(['a']).value, at(text, '123'));
});

test('!!omap is an error at the tag, not a list of nulls (regression), in both readers', () => {
  const text = 'topics:\n  job.a: a\npools: !!omap\n  - a: {requires: []}\n';
  for (const result of [parseYamlFast(text), parseYamlComplete(text), parseDocumentText(text, 'yaml')]) {
    assert.ok(result);
    assert.deepEqual(
      result.problems.map((p) => [p.code, p.span, p.severity]),
      [['yaml-unsupported-tag', at(text, '!!omap'), 'error']],
    );
    assert.match(result.problems[0].message, /^Tag !!omap has no JSON meaning: replicas decode the JSON DriftLens publishes/);
  }
  assert.ok(analyzeDocument(text, 'yaml', 'pools').problems.some((p) => p.code === 'yaml-unsupported-tag' && p.span.start === text.indexOf('!!omap')));
});

test('YAML 1.1, local, non-specific and unknown tags are errors at the tag in both readers', () => {
  for (const tag of ['!!set', '!!binary', '!!timestamp', '!!pairs', '!foo', '!', '!!x']) {
    const text = `a: 1\nb: ${tag} aGVsbG8=\nc: [${tag} 2001-12-14]\n`;
    const fast = parseYamlFast(text);
    assert.ok(fast, tag);
    assertSameReading(readerView(fast), readerView(parseYamlComplete(text)), text);
    assert.deepEqual(
      fast.problems.map((p) => [p.code, p.span]),
      [
        ['yaml-unsupported-tag', at(text, tag, 0)],
        ['yaml-unsupported-tag', at(text, tag, 1)],
      ],
      tag,
    );
    // Never a byte array or a date reaching the JSON: the value is the text, and an error says why.
    const data = fast.located.value as { b: unknown; c: unknown[] };
    assert.equal(typeof data.b, 'string');
    assert.equal(typeof data.c[0], 'string');
  }
  // A named handle without %TAG, and %TAG itself: the `yaml` path reports them at their place.
  const named = 'a: !e!thing 1\n';
  assert.ok(parseDocumentText(named, 'yaml').problems.some((p) => p.code === 'yaml-unsupported-tag' && p.span.start === 3));
  const directive = '%TAG !e! tag:example.com,2000:\n---\na: !e!thing 1\n';
  assert.deepEqual(
    parseDocumentText(directive, 'yaml').problems.map((p) => [p.code, p.span.start]),
    [
      ['yaml-unsupported-tag', 0],
      ['yaml-unsupported-tag', directive.indexOf('!e!thing')],
    ],
  );
});

test('a core tag on a value that does not fit it is an error at the tag (the value would be a guess)', () => {
  for (const [text, tag] of [['a: !!bool yes\n', '!!bool'], ['a: !!float 1\n', '!!float'], ['a: !!int 1.5\n', '!!int'], ['a: !!null x\n', '!!null']]) {
    assert.equal(parseYamlFast(text), undefined, text);
    const parsed = parseDocumentText(text, 'yaml');
    assert.deepEqual(parsed.problems.map((p) => [p.code, p.span]), [['yaml-unsupported-tag', at(text, tag)]], text);
    assert.match(parsed.problems[0].message, /does not fit its tag/);
  }
});

test('a repeated %YAML directive is an error at the second one', () => {
  const text = '%YAML 1.2\n%YAML 1.2\n---\na: 1\n';
  assert.equal(parseYamlFast(text), undefined);
  const parsed = parseDocumentText(text, 'yaml');
  assert.deepEqual(parsed.problems.map((p) => [p.code, p.span, p.message]), [['yaml-syntax', at(text, '%YAML 1.2', 1), 'A second %YAML directive: a YAML document takes at most one.']]);
});

test('BOM, CRLF and lone CR: the fast reader answers, offsets stay where they are in the text', () => {
  const lf = 'a: |\n  x\nb: "y\n  z"\nc: {d: 1,\n  e: 2}\n';
  for (const text of ['\ufeff' + lf, lf.replace(/\n/g, '\r\n'), lf.replace(/\n/g, '\r')]) {
    const parsed = parseDocumentText(text, 'yaml');
    assert.equal(parsed.reader, 'fast-yaml', JSON.stringify(text));
    assert.deepEqual(parsed.located.value, { a: 'x\n', b: 'y z', c: { d: 1, e: 2 } });
    assert.deepEqual(parsed.located.locate(['c', 'e']).value, at(text, '2'));
  }
});

test('what still goes to `yaml`: explicit keys, several documents, a value on the --- line', () => {
  for (const text of ['? a\n: 1\n', 'a: 1\n---\nb: 2\n', '--- {a: 1}\n', 'a: [b\n  c]\n', '[a: 1]\n', '&x a: 1\n', 'a: [-]\n']) {
    assert.equal(parseYamlFast(text), undefined, text);
  }
  assert.deepEqual(parseDocumentText('a: 1\n---\nb: 2\n', 'yaml').problems.map((p) => p.code), ['yaml-multiple-documents']);
});

test('an anchor name defined again inside its own node: aliases mean the inner one, as yaml reads it (review of issue 11)', () => {
  const cases = [
    'a: &x\n  b: &x 1\nc: *x\n',
    'a: &x [&x 1]\nb: *x\n',
    'a: &x {b: &x 1}\nc: *x\n',
    '- &x\n  - &x 1\n- *x\n',
    'a: &x\n  - &y 1\n  - &x 2\nb: *x\nc: *y\n',
    '- &x\n  a: &x\n    b: 1\n- *x\n',
  ];
  for (const text of cases) {
    const parsed = parseDocumentText(text, 'yaml');
    const complete = parseYamlComplete(text);
    assert.deepEqual(parsed.located.value, complete.located.value, text);
    assert.deepEqual(parsed.problems, complete.problems, text);
  }
  assert.deepEqual(parseDocumentText('a: &x\n  b: &x 1\nc: *x\n', 'yaml').located.value, { a: { b: 1 }, c: 1 });
});

test('a tab between a dash and what follows is an error, as yaml says, never a clean document (review of issue 11)', () => {
  for (const text of ['- \t- x\n', '-\t- x\n', '- \tk: v\n', '-\tk: v\n  j: w\n', 'a:\n  - \tb: 1\n', 'a:\n  -\t- 1\n', '- - \t- x\n', '- \t&a x\n', '- \t!!str x\n']) {
    const parsed = parseDocumentText(text, 'yaml');
    assert.deepEqual(parsed.problems, parseYamlComplete(text).problems, text);
    assert.ok(parsed.problems.some((p) => p.code === 'yaml-syntax'), `${JSON.stringify(text)} has a syntax error`);
  }
});

// A large mapping answers its first few lookups by a scan and builds its name index after: every
// member is found at its own span either way, in any order, a missing one is not.
test('locating the members of a 40-key mapping: the scanned lookups and the indexed ones agree with the text', () => {
  const names = Array.from({ length: 40 }, (_, i) => `pool-${i}`);
  const text = 'pools:\n' + names.map((n) => `  ${n}: {requires: []}\n`).join('');
  const parsed = fastRead(text);
  for (const name of [...names].reverse()) {
    const found = parsed.located.locate(['pools', name]);
    const start = text.indexOf(`\n  ${name}:`) + 3;
    assert.deepEqual(found.key, { start, end: start + name.length }, name);
    assert.equal(found.exact, true, name);
  }
  assert.equal(parsed.located.locate(['pools', 'pool-40']).exact, false);
});

test('every member of a 2,000-member mapping is located at its key and value, and listed with its value, in every reader', () => {
  // Past LARGE_OBJECT_MEMBERS and past the scans before a name index: both ways of finding a name.
  const names = Array.from({ length: 2000 }, (_, i) => `job.team-${(i * 7919) % 2000}.process`);
  const yaml = `topics:\n${names.map((n, i) => `  ${n}: pool-${i}\n`).join('')}`;
  const json = `{"topics": {${names.map((n, i) => `"${n}": ["pool-${i}"]`).join(', ')}}}`;
  const readers = [
    { reader: 'fast YAML', text: yaml, located: parseDocumentText(yaml, 'yaml').located },
    { reader: 'complete YAML', text: yaml, located: parseYamlComplete(yaml).located },
    { reader: 'JSON', text: json, located: parseDocumentText(json, 'json').located },
  ];
  for (const { reader, text, located } of readers) {
    // In an order unlike the source's, so that no lookup is helped by the one before it.
    for (const i of [...names.keys()].sort((a, b) => ((a * 31) % 2000) - ((b * 31) % 2000))) {
      const where = located.locate(['topics', names[i]]);
      const key = text.indexOf(reader === 'JSON' ? `"${names[i]}"` : names[i]);
      assert.ok(where.exact, `${reader}: ${names[i]} found`);
      assert.equal(where.key?.start, key, `${reader}: ${names[i]}'s key`);
      const value = reader === 'JSON' ? `["pool-${i}"]` : `pool-${i}`;
      assert.deepEqual(where.value, { start: text.indexOf(value, key), end: text.indexOf(value, key) + value.length }, `${reader}: ${names[i]}'s value`);
    }
    assert.equal(located.locate(['topics', 'job.team-2000.process']).exact, false, `${reader}: a name not there`);
    const topics = (located.value as { topics: Record<string, unknown> }).topics;
    assert.deepEqual(located.memberNames(topics), names, `${reader}: the names at hand, in source order`);
    assert.deepEqual(located.memberValues(topics), names.map((n) => topics[n]), `${reader}: the values beside them`);
    if (reader === 'JSON') assert.deepEqual(located.locate(['topics', names[5], 0]).value, at(text, '"pool-5"'), 'an item of a list in it');
  }
});

test('past LARGE_OBJECT_MEMBERS a repeated key is still an error at its key and the first still wins, in every reader, aliases included', () => {
  // Members past the threshold go into the object when the mapping ends (LocatedBuilder.endObject):
  // repeats of members put in before that point and of members put in with them.
  const n = LARGE_OBJECT_MEMBERS + 200;
  const keys = Array.from({ length: n }, (_, i) => (i < LARGE_OBJECT_MEMBERS + 100 ? `k${i}` : `k${i - 150}`));
  keys.push('__proto__', '__proto__');
  const unique = [...new Set(keys)];
  const yaml = `m: &big\n${keys.map((k, i) => `  ${k}: ${i}\n`).join('')}n: *big\n`;
  const json = `{"m": {${keys.map((k, i) => `"${k}": ${i}`).join(', ')}}}`;
  const repeatsIn = (text: string, quote: string) => {
    const at: number[] = [];
    const seen = new Set<string>();
    let from = 0;
    for (const k of keys) {
      const i = text.indexOf(`${quote}${k}${quote}:`, from);
      if (seen.has(k)) at.push(i);
      seen.add(k);
      from = i + 1;
    }
    return at;
  };
  const duplicates = (problems: readonly { code: string; span: { start: number } }[]) => problems.filter((p) => p.code === 'duplicate-key').map((p) => p.span.start);
  const fast = parseDocumentText(yaml, 'yaml');
  assert.equal(fast.reader, 'fast-yaml');
  const complete = parseYamlComplete(yaml);
  const fromJson = parseDocumentText(json, 'json');
  assert.deepEqual(duplicates(fast.problems), duplicates(complete.problems), 'the fast reader reports what the complete one does');
  assert.deepEqual([...new Set(duplicates(fast.problems))].sort((a, b) => a - b), repeatsIn(yaml, ''), 'each repeat at its key');
  assert.deepEqual(duplicates(fromJson.problems), repeatsIn(json, '"'), 'JSON: each repeat at its key');
  for (const [reader, located] of [['fast YAML', fast.located], ['complete YAML', complete.located], ['JSON', fromJson.located]] as const) {
    const m = (located.value as { m: Record<string, unknown> }).m;
    assert.deepEqual(Object.keys(m).sort(), [...unique].sort(), `${reader}: every key once`);
    assert.equal(m.k1050, 1050, `${reader}: the first k1050 wins (both past the threshold)`);
    assert.equal(m.k1000, 1000, `${reader}: the first k1000 wins (put in before the threshold)`);
    assert.equal(Object.getOwnPropertyDescriptor(m, '__proto__')?.value, n, `${reader}: __proto__ is an own member, the first one`);
    assert.deepEqual(located.memberNames(m), unique, `${reader}: names without the repeats`);
    assert.deepEqual(located.memberValues(m), unique.map((k) => Object.getOwnPropertyDescriptor(m, k)!.value), `${reader}: values beside them`);
    assert.ok(located.locate(['m', 'k1123']).exact, `${reader}: a member past the threshold is located`);
  }
  assert.equal((fast.located.value as { n: unknown }).n, (fast.located.value as { m: unknown }).m, 'the alias is the anchored mapping, complete');
});
