import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointFieldsFromPolicy, resolveEndpoints } from '../../src/live/endpoints';

const policy = { redis: { url: 'rediss://policy:6380', username: 'ops', tls: { caFile: '/policy/ca.pem' } }, nats: { servers: ['nats://policy:4222'], user: 'nats-ops' } };

test('the CLI merges field by field: flags, then the policy, then the defaults', () => {
  const { redis, nats } = resolveEndpoints({ redis: { username: 'alice' }, nats: {} }, policy, 'merge');
  assert.deepEqual(redis, { url: 'rediss://policy:6380', username: 'alice', tls: { caFile: '/policy/ca.pem' }, sentinel: undefined, cluster: undefined });
  assert.deepEqual(nats.servers, ['nats://policy:4222']);
  assert.equal(resolveEndpoints({ redis: {}, nats: {} }, {}, 'merge').redis.url, 'redis://127.0.0.1:6379');
});

test('the editor takes each endpoint whole from one place, so no server gets another one\'s trust', () => {
  // The settings name a server: nothing of the policy's endpoint (its user, its CA) comes along.
  const fromSettings = resolveEndpoints({ redis: { url: 'redis://mine:6379' }, nats: {} }, policy, 'whole');
  assert.deepEqual(fromSettings.redis, { url: 'redis://mine:6379', username: undefined, tls: undefined, sentinel: undefined, cluster: undefined });
  // The settings do not name one: the policy's endpoint, whole, ignoring a user given alone in settings.
  const fromPolicy = resolveEndpoints({ redis: { username: 'alice', tls: { caFile: '/home/ca.pem' } }, nats: {} }, policy, 'whole');
  assert.deepEqual(fromPolicy.redis, { url: 'rediss://policy:6380', username: 'ops', tls: { caFile: '/policy/ca.pem' }, sentinel: undefined, cluster: undefined });
  assert.deepEqual(fromPolicy.nats, { servers: ['nats://policy:4222'], user: 'nats-ops', credsFile: undefined, tls: undefined });
});

test('the CLI knows which endpoint settings a secret would follow from the policy (not the user name)', () => {
  const fields = (overrides: Parameters<typeof endpointFieldsFromPolicy>[0]) => endpointFieldsFromPolicy(overrides, policy);
  assert.deepEqual(fields({ redis: {}, nats: {} }), { redis: ['url', 'tls'], nats: ['servers'] });
  assert.deepEqual(fields({ redis: { url: 'redis://mine:6379' }, nats: { servers: ['nats://mine:4222'] } }), { redis: ['tls'], nats: [] });
  assert.deepEqual(fields({ redis: { url: 'redis://mine:6379', tls: {} }, nats: { servers: ['nats://mine:4222'] } }), { redis: [], nats: [] });
  assert.deepEqual(endpointFieldsFromPolicy({ redis: {}, nats: {} }, {}), { redis: [], nats: [] });
});
