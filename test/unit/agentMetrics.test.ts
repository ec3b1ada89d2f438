import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { AgentMetrics } from '../../src/agent/agentMetrics';
import { ConfigStore } from '../../src/live/configStore';
import { closeRedis, connectRedis } from '../../src/live/redisConnection';
import { startRedis } from '../support/servers';
import { ROOT } from './helpers';

const info = async (registry: Registry) =>
  (await registry.metrics())
    .split('\n')
    .filter((l) => l.startsWith('driftlens_config_section_info{'))
    .sort();

test('one info series per applied section: a new hash replaces the old series; agents share a registry; stop clears', async () => {
  const registry = new Registry();
  const a = new AgentMetrics({ registry }, 'scheduler', 'r1');
  const b = new AgentMetrics({ registry }, 'scheduler', 'r2'); // same names: got, not created twice
  a.applied('pools', 'aaa', 1, 'startup');
  a.applied('timeouts', 'ttt', 1, 'startup');
  b.applied('pools', 'aaa', 1, 'startup');
  a.applied('pools', 'bbb', 2, 'notification');
  assert.deepEqual(await info(registry), [
    'driftlens_config_section_info{service="scheduler",replica="r1",section="pools",hash="bbb",revision="2"} 1',
    'driftlens_config_section_info{service="scheduler",replica="r1",section="timeouts",hash="ttt",revision="1"} 1',
    'driftlens_config_section_info{service="scheduler",replica="r2",section="pools",hash="aaa",revision="1"} 1',
  ]);
  const text = await registry.metrics();
  assert.match(text, /driftlens_config_applies_total\{service="scheduler",replica="r1",section="pools",trigger="startup"\} 1/);
  assert.match(text, /driftlens_config_applies_total\{service="scheduler",replica="r1",section="pools",trigger="notification"\} 1/);
  a.clear();
  assert.deepEqual(await info(registry), ['driftlens_config_section_info{service="scheduler",replica="r2",section="pools",hash="aaa",revision="1"} 1']);
});

test('the public bundle (its own copy of prom-client) exports into the service\'s prom-client registry', async () => {
  const server = await startRedis();
  const redis = await connectRedis({ url: server.url }, { name: 'agent-metrics-test' });
  try {
    await new ConfigStore(redis).write('cfg:system:default', { data: { pools: { topics: { 'job.a': 'default' }, pools: { default: { requires: [] } } } }, expectedRevision: 0, meta: { published_by: 'test' } });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ReplicaAgent } = require(path.join(ROOT, 'dist/agent.js')) as { ReplicaAgent: new (o: object) => { start(): Promise<void>; stop(): Promise<void> } };
    const registry = new Registry();
    const agent = new ReplicaAgent({ service: 'svc', replicaId: 'r1', redis: { url: server.url }, apply: () => undefined, env: {}, metrics: { registry } });
    await agent.start();
    const text = await registry.metrics();
    assert.match(text, /^driftlens_config_section_info\{service="svc",replica="r1",section="pools",hash="[0-9a-f]{64}",revision="1"\} 1$/m);
    assert.match(text, /^driftlens_config_applies_total\{service="svc",replica="r1",section="pools",trigger="startup"\} 1$/m);
    await agent.stop();
    assert.doesNotMatch(await registry.metrics(), /^driftlens_config_section_info\{/m, 'a stopped agent no longer claims a hash');
  } finally {
    await closeRedis(redis);
    await server.dispose();
  }
});
