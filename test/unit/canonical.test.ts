import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, compareCodePoints, quoteGoString } from '../../src/core/canonical';
import { computeSectionHash } from '../../src/core/sectionHash';

test('the public Cordum vectors hash exactly', () => {
  assert.equal(computeSectionHash('pools', { topics: { 'job.default': 'default' } }).hash, 'da879de4d8577813cf7b478a1c9b6336cb1682ec8984db5796c125469bd0b923');
  assert.equal(
    computeSectionHash('pools', { topics: { 'job.default': ['default'] }, pools: { default: {} }, _x: 1 }).hash,
    '2961fe6906f829d9c23bbe90eb6f585dbd3a8f3d70f458a45980c2e2be312435',
  );
  assert.equal(
    computeSectionHash('timeouts', { workflows: {}, topics: {}, reconciler: { dispatch_timeout_seconds: 300, running_timeout_seconds: 900, scan_interval_seconds: 30 } }).hash,
    '5e102673f6609b6d6f16962652cd082132e06c4ed95d48b761d341cd1d78ec12',
  );
});

test('strings are escaped like Go encoding/json (HTML-safe, short escapes, U+2028/2029)', () => {
  assert.equal(quoteGoString('<a href="x">&</a>'), '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"');
  assert.equal(quoteGoString('tab\tnl\ncr\rbs\bff\f'), '"tab\\tnl\\ncr\\rbs\\bff\\f"');
  assert.equal(quoteGoString('\u0000\u001f\u000b'), '"\\u0000\\u001f\\u000b"');
  assert.equal(quoteGoString('line\u2028para\u2029'), '"line\\u2028para\\u2029"');
  assert.equal(quoteGoString('slash/ del\u007f é 😀'), '"slash/ del\u007f é 😀"');
  assert.equal(quoteGoString('back\\slash'), '"back\\\\slash"');
});

test('a lone surrogate becomes U+FFFD written raw, as Go decodes it', () => {
  assert.equal(quoteGoString('a\ud800b'), '"a\ufffdb"');
  assert.equal(quoteGoString('\udc00'), '"\ufffd"');
  assert.equal(canonicalJson({ 'k\ud800': 1 }), '{"k\ufffd":1}');
});

test('keys sort by code point (UTF-8 byte order), not UTF-16 units', () => {
  // U+FF5E (a BMP char above the surrogates) sorts before U+1F600 in UTF-8, after it in UTF-16.
  const keys = ['😀', '～', 'a', 'B', ''];
  assert.deepEqual([...keys].sort(compareCodePoints), ['', 'B', 'a', '～', '😀']);
  assert.equal(canonicalJson({ '😀': 1, '～': 2, a: 3 }), '{"a":3,"～":2,"😀":1}');
});

test('numbers print like Go float64: shortest form, exponent thresholds, negative zero kept', () => {
  assert.equal(canonicalJson([1, 1.5, 1e21, 1e20, 1e-7, 0.000001, -0, 0, 123456789012345680000, 5e-324]), '[1,1.5,1e+21,100000000000000000000,1e-7,0.000001,-0,0,123456789012345680000,5e-324]');
});

test('no whitespace, nested containers, null and booleans', () => {
  assert.equal(canonicalJson({ b: [true, false, null, {}], a: { y: [], x: 'v' } }), '{"a":{"x":"v","y":[]},"b":[true,false,null,{}]}');
});
