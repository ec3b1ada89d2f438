'use strict';
// UI scenario of the Replicas view: real agents in this process, driven into in sync (by
// notification and by poll), drifted and rejected, then the tree as a person sees it.

const fs = require('fs');
const path = require('path');
const { clickActivityBarItem, waitForText } = require('../launcher/ui');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const { SimulatedReplicaAgent } = require(path.join(ROOT, 'out/src/simulator/simulatedReplicaAgent'));
const { ConfigStore } = require(path.join(ROOT, 'out/src/live/configStore'));
const { connectRedis } = require(path.join(ROOT, 'out/src/live/redisConnection'));
const { connectNats } = require(path.join(ROOT, 'out/src/live/natsConnection'));
const { publishConfigChanged } = require(path.join(ROOT, 'out/src/live/notifier'));
const { InstanceRegistration } = require(path.join(ROOT, 'out/src/live/instanceRegistry'));

const KEY = 'cfg:system:default';

module.exports = {
  /** Before the workbench starts: short budgets, so that "drifted" arrives within the scenario. */
  prepare(workspace) {
    const file = path.join(workspace, 'drift-policy.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('interval: 30s', 'interval: 2s').replace('"<= 5s"', '"<= 1s"').replace('"<= 30s"', '"<= 4s"'));
  },
  scenarios: [
    {
      name: 'the Replicas view shows in sync, by poll, drifted and rejected replicas with the SLO clock',
      async run({ page, shot, servers, onCleanup }) {
        const redis = await connectRedis({ url: servers.redisUrl });
        const nats = await connectNats({ servers: [servers.natsUrl] });
        const store = new ConfigStore(redis);
        const agents = [];
        onCleanup(async () => {
          await Promise.allSettled(agents.map((a) => a.stop({ deregister: true })));
          redis.disconnect();
          await nats.close();
        });
        const live = (await store.read(KEY)).envelope;
        for (const [id, faults] of [['sched-a', {}], ['sched-b', {}], ['sched-c', {}], ['sched-d', {}], ['sched-e', {}]]) {
          const agent = new SimulatedReplicaAgent({ configKey: KEY, service: 'cordum-scheduler', replicaId: id, pollIntervalMs: 2000, envOverride: false, heartbeatMs: 1000, redis: { url: servers.redisUrl }, nats: { servers: [servers.natsUrl] }, faults, apply: () => undefined });
          await agent.start();
          agents.push(agent);
        }
        agents[2].faults.dropNotifications = 1; // converges by poll
        agents[3].faults.stalled = true; // drifts
        agents[4].faults.rejectApply = true; // rejects
        await clickActivityBarItem(page, 'DriftLens');
        await waitForText(page, '.monaco-list-row', 'sched-a', { timeoutMs: 30e3, what: 'the replicas in the tree' });
        const data = { ...live.data, timeouts: { ...live.data.timeouts, reconciler: { ...live.data.timeouts.reconciler, dispatch_timeout_seconds: 240 } } };
        await store.write(KEY, { data, expectedRevision: live.revision, meta: { published_by: 'alice@ops' } });
        await publishConfigChanged(nats, 'sys.config.changed', { scope: 'system', scopeId: 'default', senderId: 'ui-scenario' });
        await waitForText(page, '.monaco-list-row', 'drifted', { timeoutMs: 30e3, what: 'a drifted replica' });
        await waitForText(page, '.monaco-list-row', 'rejected', { timeoutMs: 10e3, what: 'a rejected replica' });
        // Expand the replica that converged by poll, to show its section and convergence time.
        await page.locator('.monaco-list-row', { hasText: 'sched-c' }).first().click();
        await waitForText(page, '.monaco-list-row', 'by poll', { timeoutMs: 10e3, what: 'the section converged by poll' });
        await page.locator('.monaco-list-row', { hasText: 'sched-d' }).first().click();
        await waitForText(page, '.statusbar', 'in sync', { timeoutMs: 10e3, what: 'the replica summary in the status bar' });
        await shot('11-replicas-view');
        // The tooltip a person gets by resting the mouse on the section that converged by poll.
        const row = page.locator('.monaco-list-row', { hasText: 'by poll' }).first();
        await row.hover();
        await page.mouse.move(1, 1);
        await row.locator('.label-name').first().hover();
        await waitForText(page, '.monaco-hover, .workbench-hover, .workbench-hover-container', 'notification did not reach', { timeoutMs: 15e3, what: 'the section tooltip saying the notification was lost' });
        await shot('12-replica-tooltip');
      },
    },
    {
      name: 'the Replicas view shows a replica alive in the instance registry that does not report, with its version',
      async run({ page, shot, servers, onCleanup }) {
        const redis = await connectRedis({ url: servers.redisUrl });
        const agents = [];
        const registrations = [];
        onCleanup(async () => {
          await Promise.allSettled(agents.map((a) => a.stop({ deregister: true })));
          await Promise.allSettled(registrations.map((r) => r.stop({ deregister: true })));
          redis.disconnect();
        });
        // Registered like Cordum's schedulers (cordum:instance:scheduler:<id>); two of the three run the agent.
        const register = async (id, version, commit) => {
          const registration = new InstanceRegistration(redis, { pattern: 'cordum:instance:{service}:{id}', service: 'scheduler', id, version, commit });
          await registration.start();
          registrations.push(registration);
        };
        for (const id of ['scheduler-0', 'scheduler-1']) {
          const agent = new SimulatedReplicaAgent({ configKey: KEY, service: 'scheduler', replicaId: id, pollIntervalMs: 2000, envOverride: false, heartbeatMs: 1000, redis: { url: servers.redisUrl }, nats: { servers: [servers.natsUrl] }, apply: () => undefined });
          await agent.start();
          agents.push(agent);
          await register(id, 'v0.9.2', '7c1e04b9a2d3');
        }
        await register('scheduler-2', 'v0.9.1', '3f5a8e21c0b7');
        await clickActivityBarItem(page, 'DriftLens');
        await waitForText(page, '.monaco-list-row', 'not reporting · v0.9.1 3f5a8e21c0b7', { timeoutMs: 30e3, what: 'the registered replica without a report' });
        await waitForText(page, '.monaco-list-row', 'scheduler-0', { timeoutMs: 10e3, what: 'a reporting replica' });
        await page.locator('.monaco-list-row', { hasText: 'scheduler-2' }).first().click();
        await waitForText(page, '.monaco-list-row', 'pools', { timeoutMs: 10e3, what: 'the sections of the replica that does not report' });
        await shot('registry-01-not-reporting-replica');
        const row = page.locator('.monaco-list-row', { hasText: 'scheduler-2' }).first();
        await page.mouse.move(1, 1);
        await row.locator('.label-name').first().hover();
        await waitForText(page, '.monaco-hover, .workbench-hover, .workbench-hover-container', 'install the agent', { timeoutMs: 15e3, what: 'the tooltip saying what to do' });
        await shot('registry-02-not-reporting-tooltip');
      },
    },
  ],
  };
