import assert from 'node:assert/strict';
import { test } from 'node:test';
import { natsEndpointIdentity, prometheusEndpointIdentity, redisEndpointIdentity } from '../../src/live/endpointIdentity';

/**
 * Issue 9 item 2: a stored secret is bound to the scheme, every server it could reach and the
 * user. Anything that changes where or how it would travel is another identity (no secret).
 */

test('the Redis identity names the scheme, every server and the user, never a password', () => {
  assert.equal(redisEndpointIdentity({ url: 'rediss://Redis.Internal:6380/3', username: 'ops' }), 'rediss://redis.internal:6380 (user ops)');
  assert.equal(redisEndpointIdentity({ url: 'redis://ops:pw@127.0.0.1' }), 'redis://127.0.0.1:6379 (user ops)');
  assert.equal(
    redisEndpointIdentity({ url: 'rediss://x', sentinel: { name: 'mymaster', sentinels: ['s2:26379', 's1:26379'] } }),
    'rediss://s1:26379,s2:26379 (sentinel master mymaster)',
  );
  assert.equal(redisEndpointIdentity({ url: 'redis://x', cluster: ['b:7001', 'a:7000'] }), 'redis://a:7000,b:7001 (cluster)');
});

test('changing the scheme, any server, the master, the user or certificate checking changes the Redis identity', () => {
  const base = { url: 'rediss://redis.internal:6380/0', username: 'ops', sentinel: { name: 'mymaster', sentinels: ['s1:26379', 's2:26379'] } };
  const id = redisEndpointIdentity(base);
  // The same endpoint written differently is the same identity: no needless prompt.
  assert.equal(redisEndpointIdentity({ ...base, url: 'rediss://redis.internal:6380/5', sentinel: { name: 'mymaster', sentinels: ['s2:26379', 's1:26379'] } }), id);
  const variants = [
    { ...base, url: 'redis://redis.internal:6380/0' }, // TLS dropped: the password would travel in clear text
    { ...base, sentinel: { name: 'mymaster', sentinels: ['s1:26379', 's2:26379', 'evil:26379'] } }, // a sentinel added by a workspace
    { ...base, sentinel: { name: 'mymaster', sentinels: ['s1:26379', 'evil:26379'] } },
    { ...base, sentinel: { name: 'other', sentinels: ['s1:26379', 's2:26379'] } },
    { ...base, username: 'admin' },
    { ...base, tls: { insecureSkipVerify: true } },
    { ...base, sentinel: undefined },
    { ...base, sentinel: undefined, cluster: ['s1:26379', 's2:26379'] },
  ];
  const ids = variants.map(redisEndpointIdentity);
  for (const other of ids) assert.notEqual(other, id);
  assert.equal(new Set(ids).size, ids.length);
  // Without a rediss:// URL, TLS settings still make it a TLS endpoint (they turn TLS on).
  assert.equal(redisEndpointIdentity({ url: 'redis://h:1', tls: { caFile: '/ca.pem' } }), 'rediss://h:1');
});

test('the NATS identity is the set of servers with their scheme, and the user; a token in a URL is never part of it', () => {
  assert.equal(natsEndpointIdentity({ servers: ['nats://b:4222', 'a'] }), 'nats://a:4222,nats://b:4222');
  assert.equal(natsEndpointIdentity({ servers: ['tls://n:4443'], user: 'app' }), 'tls://n:4443 (user app)');
  assert.equal(natsEndpointIdentity({ servers: ['nats://s3cr3t-token@n:4222'] }), 'nats://n:4222');
  assert.equal(natsEndpointIdentity({ servers: ['nats://app:pw@n:4222'] }), 'nats://n:4222 (user app)');
  const base = { servers: ['tls://n1:4222', 'tls://n2:4222'], user: 'app' };
  const id = natsEndpointIdentity(base);
  for (const other of [
    { ...base, servers: ['nats://n1:4222', 'nats://n2:4222'] },
    { ...base, servers: ['tls://n1:4222'] },
    { ...base, servers: ['tls://n1:4222', 'tls://n2:4222', 'tls://evil:4222'] },
    { ...base, user: 'root' },
    { ...base, tls: { insecureSkipVerify: true } },
  ]) {
    assert.notEqual(natsEndpointIdentity(other), id);
  }
  assert.equal(natsEndpointIdentity({ servers: ['nats://n:4222'], tls: { caFile: '/ca.pem' } }), 'tls://n:4222');
});

test('issue 10: the Prometheus identity names the scheme, host, port, path prefix and user; any change is another endpoint', () => {
  assert.equal(prometheusEndpointIdentity('http://Prometheus:9090/'), 'http://prometheus:9090');
  assert.equal(prometheusEndpointIdentity('https://metrics.example/prom', 'ops'), 'https://metrics.example:443/prom (user ops)');
  const base = prometheusEndpointIdentity('https://metrics.example:9090');
  for (const other of [prometheusEndpointIdentity('http://metrics.example:9090'), prometheusEndpointIdentity('https://evil.example:9090'), prometheusEndpointIdentity('https://metrics.example:9091'), prometheusEndpointIdentity('https://metrics.example:9090/other'), prometheusEndpointIdentity('https://metrics.example:9090', 'x')]) {
    assert.notEqual(other, base);
  }
  // Credentials in the URL never reach the identity (it is shown in prompts).
  assert.doesNotMatch(prometheusEndpointIdentity('http://u:secret@h:9090'), /secret/);
});
