import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers';

/**
 * What a service gets from `require('driftlens/agent')` (dist/agent.js): the reference agent, and
 * nothing of the simulator. A production replica must not carry switches that drop notifications,
 * stall checks or refuse applies, nor call itself simulated.
 */

const BUNDLE = path.join(ROOT, 'dist/agent.js');

test('the public agent bundle has no fault injection: not in its text, not in its exports, not on an agent', () => {
  const text = readFileSync(BUNDLE, 'utf8');
  for (const identifier of ['dropNotifications', 'delayNotificationsMs', 'rejectApply', 'droppedNotifications', 'ignoredTriggers', 'SimulatedReplicaAgent', 'pollPhaseMs', 'reject fault']) {
    assert.equal(text.includes(identifier), false, `dist/agent.js contains "${identifier}"`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bundle = require(BUNDLE) as Record<string, unknown>;
  assert.deepEqual(Object.keys(bundle), ['ReplicaAgent']);
  const ReplicaAgent = bundle.ReplicaAgent as new (options: object) => object;
  const agent = new ReplicaAgent({ service: 'scheduler', replicaId: 'r1', redis: { url: 'redis://127.0.0.1:1' }, apply: () => undefined, env: {} });
  assert.equal('faults' in agent, false, 'an agent has no faults to set');
  const report = (agent as { status(): Record<string, unknown> }).status();
  assert.equal('simulated' in report, false, 'a real replica does not call itself simulated');
});
