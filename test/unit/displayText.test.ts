import assert from 'node:assert/strict';
import { test } from 'node:test';
import { displayText, iconLabelText, terminalSafeJson } from '../../src/core/displayText';
import { renderDriftTable } from '../../src/cli/driftTable';
import { computeDriftModel } from '../../src/core/convergence';

/** Text that came from Redis or NATS, as DriftLens shows it: visible escapes, never raw controls. */

// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

test('C0, DEL, C1, bidi overrides and line separators become visible escapes; other text is untouched', () => {
  assert.equal(displayText('scheduler-1'), 'scheduler-1');
  assert.equal(displayText('ünïcode → ok ✓ 日本'), 'ünïcode → ok ✓ 日本');
  assert.equal(displayText('a\x1b[31mred\x1b[0m'), 'a\\x1b[31mred\\x1b[0m');
  assert.equal(displayText('title\x1b]0;pwned\x07'), 'title\\x1b]0;pwned\\x07');
  assert.equal(displayText('line\nbreak\r\ttab\x00\x7f'), 'line\\nbreak\\r\\ttab\\x00\\x7f');
  assert.equal(displayText('csi\u009b31m'), 'csi\\x9b31m');
  assert.equal(displayText('sim-1\u202esync ni'), 'sim-1\\u202esync ni');
  assert.equal(displayText('\u2066iso\u2069 \u2028'), '\\u2066iso\\u2069 \\u2028');
  for (let code = 0; code < 0x3000; code++) {
    const shown = displayText(String.fromCharCode(code));
    assert.doesNotMatch(shown, RAW, `U+${code.toString(16)}`);
  }
});

test('terminal-safe JSON keeps the exact values for scripts and writes no raw C1 or bidi character', () => {
  const value = { id: 'a\u009bb\u202ec\x1b', n: 1 };
  const text = terminalSafeJson(value, 2);
  assert.doesNotMatch(text.replace(/\n/g, ''), RAW);
  assert.deepEqual(JSON.parse(text), value);
});

test('the status table escapes replica ids, services, error messages and published_by', () => {
  const now = 1_000_000;
  const model = computeDriftModel({
    live: { key: 'cfg:system:default', revision: 2, publishedAtMs: now - 5000, publishedBy: 'eve\x1b[8m', sections: {}, knownHashes: new Map() },
    replicas: [
      {
        member: 'sch\x1b[2Jed:r\u202e1',
        report: { service: 'sch\x1b[2Jed', replicaId: 'r\u202e1', revision: 2, reportedAtMs: now - 1000, pollIntervalMs: 30_000, lastCheckTrigger: 'poll', sections: {}, lastError: { atMs: now - 1000, message: 'bad\x9b1;1H\nnext', kind: 'apply-failed' } },
      },
    ],
    policy: { notificationOk: { inclusive: true, ms: 5000 }, notificationLost: { inclusive: true, ms: 30_000 } },
    nowMs: now,
    staleAfterMs: 15_000,
  });
  const table = renderDriftTable(model, { color: false, nowMs: now });
  assert.doesNotMatch(table.replace(/\n/g, ''), RAW);
  assert.match(table, /by eve\\x1b\[8m/);
  assert.match(table, /sch\\x1b\[2Jed:r\\u202e1/);
  assert.match(table, /apply-failed: bad\\x9b1;1H\\nnext/);
});

test('iconLabelText: a $(icon) from the network shows as written, and control characters as escapes', () => {
  assert.equal(iconLabelText('$(check) alice'), '\\$(check) alice');
  assert.equal(iconLabelText('bob\u202e$(x)'), 'bob\\u202e\\$(x)');
  assert.equal(iconLabelText('plain $ (not an icon)'), 'plain $ (not an icon)');
  // Only what the renderer would take for an icon is escaped: a stray backslash would show otherwise.
  assert.equal(iconLabelText('$(sync~spin) $(not an icon) $(x'), '\\$(sync~spin) $(not an icon) $(x');
});
