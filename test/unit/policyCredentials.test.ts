import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { analyzeDocument } from '../../src/core/analysis';
import { TextLines } from '../../src/core/textLines';
import { ROOT } from './helpers';

/** Issue 9 item 4: a drift policy never carries credentials, and no message repeats one. */

const POLICY = readFileSync(path.join(ROOT, 'test/fixtures/policy/drift-policy.yaml'), 'utf8');
const SECRET = 'hunter2-pw';

const CONNECTIONS = `  connections:
    redis:
      url: redis://ops:${SECRET}@redis.internal:6379/0
      sentinel:
        name: mymaster
        sentinels: [ "ops:${SECRET}@s1:26379" ]
    nats:
      servers:
        - nats://app:${SECRET}@nats.internal:4222
        - nats://${SECRET}@nats.internal:4223
`;

/** Each problem as "line:col-line:col code: message", and the text it covers. */
function problems(text: string): { where: string; covers: string; message: string }[] {
  const analysis = analyzeDocument(text, 'yaml', 'policy');
  const lines = new TextLines(text);
  return analysis.problems.map((p) => {
    const s = lines.positionAt(p.span.start);
    const e = lines.positionAt(p.span.end);
    return { where: `${s.line + 1}:${s.character + 1}-${e.line + 1}:${e.character + 1} ${p.code}`, covers: text.slice(p.span.start, p.span.end), message: p.message };
  });
}

test('credentials in the policy\'s URLs are errors on exactly those values, and no message repeats them', () => {
  const text = POLICY + CONNECTIONS;
  const found = problems(text);
  assert.deepEqual(
    found.map((p) => `${p.where} ${p.covers}`),
    [
      `20:12-20:56 pattern redis://ops:${SECRET}@redis.internal:6379/0`,
      `23:22-23:47 pattern "ops:${SECRET}@s1:26379"`,
      `26:11-26:51 pattern nats://app:${SECRET}@nats.internal:4222`,
      `27:11-27:47 pattern nats://${SECRET}@nats.internal:4223`,
    ],
  );
  assert.equal(
    found[0].message,
    '"url" must be a redis:// or rediss:// URL without credentials (nothing before an @, no ?query or #fragment): put the user in "username" and keep the password out of files, not the string "redis://***@redis.internal:6379/0".',
  );
  assert.equal(found[1].message, 'Item 0 of "sentinels" must be host:port, without credentials, not the string "***@s1:26379".');
  assert.match(found[3].message, /^Item 1 of "servers" must be a nats:\/\/ or tls:\/\/ URL without credentials .*, not the string "nats:\/\/\*\*\*@nats\.internal:4223"\.$/);
  for (const p of found) assert.doesNotMatch(p.message, new RegExp(SECRET));
  assert.equal(analyzeDocument(text, 'yaml', 'policy').policy, undefined, 'an invalid policy is not used');
});

test('validate (exit 1) and a live command given the policy (exit 2, --json too) report the credentials without printing them', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dl-policy-creds-'));
  const file = path.join(dir, 'drift-policy.yaml');
  writeFileSync(file, POLICY + CONNECTIONS);
  for (const [args, expected] of [
    [['validate', file], 1],
    [['status', '--json', '--policy', file], 2],
  ] as const) {
    let out = '';
    let code = 0;
    try {
      out = execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const failure = e as { status: number; stdout: string; stderr: string };
      code = failure.status;
      out = failure.stdout + failure.stderr;
    }
    assert.equal(code, expected, out);
    assert.match(out, /without credentials/);
    assert.doesNotMatch(out, new RegExp(SECRET));
  }
});

test('a policy that names servers without credentials stays valid', () => {
  const text = POLICY + `  connections:\n    redis:\n      url: rediss://redis.internal:6380/2\n      username: ops\n      cluster: [a:7000, b:7001]\n    nats:\n      servers: [tls://nats.internal:4222]\n      user: app\n`;
  assert.deepEqual(problems(text), []);
});

test('a password in a URL\'s query or fragment is refused in the policy and never echoed, there or in a CLI message', () => {
  const text = `${POLICY}  connections:\n    redis:\n      url: redis://redis.internal:6379/0?password=${SECRET}\n    nats:\n      servers: [ "nats://nats.internal:4222#${SECRET}" ]\n`;
  const found = problems(text);
  assert.deepEqual(found.map((p) => p.covers), [`redis://redis.internal:6379/0?password=${SECRET}`, `"nats://nats.internal:4222#${SECRET}"`]);
  for (const p of found) assert.doesNotMatch(p.message, new RegExp(SECRET));
  for (const url of [`redis://127.0.0.1:1/0?password=${SECRET}`, `redis://127.0.0.1:1/0#${SECRET}`]) {
    let stderr = '';
    try {
      execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'pull', '--redis-url', url], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      stderr = (e as { stderr: string }).stderr;
    }
    assert.match(stderr, /is not a valid Redis URL/);
    assert.doesNotMatch(stderr, new RegExp(SECRET), url);
  }
});
