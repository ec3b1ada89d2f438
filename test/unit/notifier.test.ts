import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { NatsEndpoint } from '../../src/live/connections';
import { connectNats, NatsConnectError, type NatsStatus } from '../../src/live/natsConnection';
import { BusPacketDecodeError, decodeBusPacket, DEFAULT_CONFIG_CHANGED_SUBJECT, encodeConfigChanged, publishConfigChanged, whyReceiversDrop } from '../../src/live/notifier';
import { freePort, startNats } from '../support/servers';

/**
 * The change notification against Cordum's wire format (checked with an independent protobuf
 * reader, field by field) and against a real nats-server: delivery, fail-fast connect errors
 * without secrets, reconnect after a server restart, user/password auth.
 */

const NOW = new Date(Date.UTC(2026, 10, 27, 21, 40, 5, 123));
const INPUT = { scope: 'system', scopeId: 'default', senderId: 'api-gateway', now: NOW };

interface RawField {
  no: number;
  wireType: WireType;
  /** Varints as bigint, length-delimited fields as bytes. */
  value: bigint | Uint8Array;
}

/** Walks one message level with @bufbuild/protobuf, which shares no code with protobufjs. */
function fields(bytes: Uint8Array): RawField[] {
  const reader = new BinaryReader(bytes);
  const out: RawField[] = [];
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if (wireType === WireType.Varint) out.push({ no, wireType, value: BigInt(reader.uint64()) });
    else if (wireType === WireType.LengthDelimited) out.push({ no, wireType, value: reader.bytes() });
    else assert.fail(`field ${no}: unexpected wire type ${wireType} (Cordum's fields here are varints or length-delimited)`);
  }
  return out;
}

const text = (f: RawField | undefined) => new TextDecoder().decode(f?.value as Uint8Array);
const shape = (fs: RawField[]) => fs.map((f) => `${f.no}:${f.wireType}`);

describe('config-changed packet on the wire', () => {
  test('field numbers, wire types and values are exactly Cordum gateway\'s', () => {
    const bytes = encodeConfigChanged({ ...INPUT, traceId: '6f1c2a4e-0000-4000-8000-000000000001' });
    const top = fields(bytes);
    // trace_id=1, sender_id=2, created_at=3 (messages and strings are wire type 2), protocol_version=4 (varint), alert=13; nothing else.
    assert.deepEqual(shape(top), ['1:2', '2:2', '3:2', '4:0', '13:2']);
    assert.equal(text(top[0]), '6f1c2a4e-0000-4000-8000-000000000001');
    assert.equal(text(top[1]), 'api-gateway');
    assert.equal(top[3].value, 1n);

    const ts = fields(top[2].value as Uint8Array);
    assert.deepEqual(shape(ts), ['1:0', '2:0']);
    assert.equal(ts[0].value, BigInt(Math.floor(NOW.getTime() / 1000)));
    assert.equal(ts[1].value, 123_000_000n);

    const alert = fields(top[4].value as Uint8Array);
    const one = (no: number) => alert.filter((f) => f.no === no);
    assert.equal(text(one(1)[0]), 'INFO');
    assert.equal(text(one(2)[0]), 'config changed');
    assert.equal(text(one(3)[0]), 'api-gateway');
    assert.equal(one(5)[0].wireType, WireType.Varint);
    assert.equal(one(5)[0].value, 1n); // AlertSeverity INFO
    assert.equal(text(one(7)[0]), 'api-gateway');
    assert.ok(text(one(9)[0]).length > 0, 'SystemAlert.trace_id is set');
    // Empty code (4) and error_code_enum (6) are omitted, as Go's proto3 encoder does.
    assert.deepEqual(one(4), []);
    assert.deepEqual(one(6), []);

    // map<string,string> details=8: one entry message per pair, key=1 and value=2, both strings.
    const details: Record<string, string> = {};
    for (const entry of one(8)) {
      assert.equal(entry.wireType, WireType.LengthDelimited);
      const kv = fields(entry.value as Uint8Array);
      assert.deepEqual(shape(kv), ['1:2', '2:2']);
      details[text(kv[0])] = text(kv[1]);
    }
    assert.deepEqual(details, { scope: 'system', scope_id: 'default', changed_at: '2026-11-27T21:40:05Z' });
  });

  test('defaults: a fresh UUID trace id per packet, repeated in the alert; created_at is now', () => {
    const startedAt = Date.now();
    const a = decodeBusPacket(encodeConfigChanged({ scope: 'system', scopeId: 'default', senderId: 'driftlens' }));
    const b = decodeBusPacket(encodeConfigChanged({ scope: 'system', scopeId: 'default', senderId: 'driftlens' }));
    assert.match(a.traceId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(a.traceId, b.traceId);
    assert.equal(a.alert?.traceId, a.traceId);
    assert.ok(a.createdAt && a.createdAt.getTime() >= startedAt - 1 && a.createdAt.getTime() <= Date.now());
    assert.match(a.alert?.details.changed_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('decodeBusPacket reads packets from an independent encoder and tells what receivers drop', () => {
    // A heartbeat-like packet (payload job_request=10) with no sender_id, written by @bufbuild/protobuf.
    const w = new BinaryWriter();
    w.tag(1, WireType.LengthDelimited).string('t-1');
    w.tag(4, WireType.Varint).int32(1);
    w.tag(10, WireType.LengthDelimited).bytes(new BinaryWriter().tag(1, WireType.LengthDelimited).string('job-7').finish());
    const packet = decodeBusPacket(w.finish());
    assert.equal(packet.traceId, 't-1');
    assert.equal(packet.senderId, '');
    assert.equal(packet.payloadKind, 'job_request');
    assert.equal(packet.alert, undefined);
    assert.equal(whyReceiversDrop(packet), 'missing sender_id');
    assert.equal(whyReceiversDrop(decodeBusPacket(new Uint8Array())), 'missing trace_id, sender_id, payload');
    assert.equal(whyReceiversDrop(decodeBusPacket(encodeConfigChanged(INPUT))), undefined);
    assert.throws(() => decodeBusPacket(Uint8Array.of(0x0a, 0x05, 0x41)), BusPacketDecodeError);
  });
});

/** Records status events; waitFor resolves on the first event of a type (past or future). */
function statusRecorder() {
  const seen: NatsStatus[] = [];
  const waiters: { type: string; resolve: (s: NatsStatus) => void }[] = [];
  return {
    seen,
    onStatus(status: NatsStatus) {
      seen.push(status);
      for (const w of waiters.filter((w) => w.type === status.type)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(status);
      }
    },
    waitFor(type: string): Promise<NatsStatus> {
      const hit = seen.find((s) => s.type === type);
      return hit ? Promise.resolve(hit) : new Promise((resolve) => waiters.push({ type, resolve }));
    },
  };
}

/** The messages of a subscription created with { max: n }: its iterator ends after n. */
async function collect(sub: Subscription): Promise<Msg[]> {
  const out: Msg[] = [];
  for await (const m of sub) out.push(m);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<NatsConnectError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof NatsConnectError, `expected a NatsConnectError, got ${String(e)}`);
    return e;
  }
  return assert.fail('expected the connection to fail');
}

describe('publishing on a real nats-server', { timeout: 30_000 }, () => {
  let server: Awaited<ReturnType<typeof startNats>>;
  const open: NatsConnection[] = [];
  const connect = async (endpoint: NatsEndpoint, onStatus?: (s: NatsStatus) => void) => {
    const nc = await connectNats(endpoint, { name: 'driftlens-test', ...(onStatus ? { onStatus } : {}) });
    open.push(nc);
    return nc;
  };

  before(async () => {
    server = await startNats();
  });
  after(async () => {
    await Promise.all(open.map((nc) => nc.close()));
    await server?.dispose();
  });

  test('a subscriber receives the exact encoded bytes, without headers', async () => {
    const subscriber = await connect({ servers: [server.url] });
    const publisher = await connect({ servers: [server.url] });
    const sub = subscriber.subscribe(DEFAULT_CONFIG_CHANGED_SUBJECT, { max: 1 });
    await subscriber.flush(); // the server has the SUB before anything is published

    const { traceId } = await publishConfigChanged(publisher, DEFAULT_CONFIG_CHANGED_SUBJECT, INPUT);
    const [msg] = await collect(sub);
    assert.equal(msg.headers, undefined);
    assert.deepEqual(new Uint8Array(msg.data), encodeConfigChanged({ ...INPUT, traceId }));
    const packet = decodeBusPacket(msg.data);
    assert.deepEqual(packet, {
      traceId,
      senderId: 'api-gateway',
      createdAt: NOW,
      protocolVersion: 1,
      payloadKind: 'alert',
      alert: {
        level: 'INFO',
        message: 'config changed',
        component: 'api-gateway',
        code: '',
        severity: 1,
        errorCodeEnum: 0,
        sourceComponent: 'api-gateway',
        details: { scope: 'system', scope_id: 'default', changed_at: '2026-11-27T21:40:05Z' },
        traceId,
      },
    });
  });

  test('after a server restart the connection reconnects and its subscription receives again', async () => {
    const status = statusRecorder();
    const subscriber = await connect({ servers: [server.url] }, status.onStatus);
    const sub = subscriber.subscribe('sys.config.changed', { max: 2 });
    await subscriber.flush();

    const reconnected = status.waitFor('reconnect');
    await server.restart();
    await reconnected;
    assert.deepEqual(
      status.seen.map((s) => s.type),
      ['disconnect', 'reconnect'],
    );
    assert.equal((await reconnected).data, server.url.replace('nats://', ''));
    await subscriber.flush(); // the re-sent SUB is on the server before the publishes below

    const fresh = await connect({ servers: [server.url] });
    const a = await publishConfigChanged(fresh, 'sys.config.changed', INPUT);
    const b = await publishConfigChanged(subscriber, 'sys.config.changed', INPUT);
    const got = (await collect(sub)).map((m) => decodeBusPacket(m.data).traceId);
    assert.deepEqual(got.sort(), [a.traceId, b.traceId].sort());
  });
});

describe('connection failures', { timeout: 30_000 }, () => {
  test('no server listening: fails fast, names the server, never shows a password', async () => {
    const port = await freePort();
    const started = Date.now();
    const err = await rejection(
      connectNats({ servers: [`nats://alice:url-pw-123@127.0.0.1:${port}`], user: 'bob', password: 'endpoint-pw-456', token: 'tok-789' }),
    );
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.equal(err.code, 'CONNECTION_REFUSED');
    assert.deepEqual(err.servers, [`nats://127.0.0.1:${port}`]);
    assert.match(err.message, new RegExp(`Is nats-server running at nats://127\\.0\\.0\\.1:${port}\\?`));
    for (const secret of ['url-pw-123', 'endpoint-pw-456', 'tok-789']) {
      assert.ok(!err.message.includes(secret) && !String(err.stack).includes(secret), `leaks ${secret}: ${err.message}`);
    }
  });

  test('user/password auth: a wrong password fails clearly without echoing it, the right one works', async () => {
    const server = await startNats(undefined, ['--user', 'u', '--pass', 'secret-pw']);
    const open: NatsConnection[] = [];
    try {
      const err = await rejection(connectNats({ servers: [server.url], user: 'u', password: 'wrong-pw-789' }));
      assert.equal(err.code, 'AUTHORIZATION_VIOLATION');
      assert.match(err.message, new RegExp(`^Cannot connect to NATS at ${server.url.replace(/\./g, '\\.')}: the server rejected the credentials`));
      assert.match(err.message, /user "u" with a password/);
      assert.ok(!err.message.includes('wrong-pw-789') && !err.message.includes('secret-pw'), err.message);

      const missing = await rejection(connectNats({ servers: [server.url] }));
      assert.match(missing.message, /sent no credentials/);

      const viaEndpoint = await connectNats({ servers: [server.url], user: 'u', password: 'secret-pw' });
      open.push(viaEndpoint);
      await publishConfigChanged(viaEndpoint, 'sys.config.changed', INPUT);
      // nats.js v2 ignores credentials in the URL; connectNats lifts them into user/pass.
      const viaUrl = await connectNats({ servers: [server.url.replace('nats://', 'nats://u:secret-pw@')] });
      open.push(viaUrl);
      await viaUrl.flush();
    } finally {
      await Promise.all(open.map((nc) => nc.close()));
      await server.dispose();
    }
  });
});
