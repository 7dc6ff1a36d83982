// What nodes sharing a database tell each other (notify.ts), on PostgreSQL (PETREL_TEST_PG_URL): a burst
// larger than one NOTIFY payload arrives whole and in order, never back at its sender, and only on its own
// topic and schema; a listening connection that silently stops is replaced.
import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../../../test/helpers/pg.ts';
import { silentLogger } from '../../telemetry/log.ts';
import { openPostgres } from './driver.ts';
import { postgresNotifier } from './notify.ts';

const url = pgTestUrl();

test('a burst of items over many NOTIFY payloads reaches the other node whole, in order, on its topic only', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  const [s1, s2] = [await freshPgSchema(url!), await freshPgSchema(url!)];
  const dbs = [openPostgres({ url: s1.url }), openPostgres({ url: s1.url }), openPostgres({ url: s2.url })];
  const [a, b, other] = [
    postgresNotifier({ url: s1.url, db: dbs[0], log: silentLogger }),
    postgresNotifier({ url: s1.url, db: dbs[1], log: silentLogger }),
    postgresNotifier({ url: s2.url, db: dbs[2], log: silentLogger }),
  ];
  try {
    const heard: Record<string, unknown[]> = { a: [], b: [], bOther: [], otherSchema: [] };
    const ta = a.topic<[number, string]>('t', (items) => heard.a.push(...items));
    ta.listen();
    const tb = b.topic<[number, string]>('t', (items) => heard.b.push(...items));
    tb.listen();
    b.topic('u', (items) => heard.bOther.push(...items)).listen();
    other.topic('t', (items) => heard.otherSchema.push(...items)).listen();
    // Listening is asynchronous: a first item from b, heard by a, says a listens.
    for (let i = 0; heard.a.length === 0; i++) {
      assert.ok(i < 200, 'a never heard b');
      tb.send([-1, 'ready']);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; heard.b.length === 0; i++) {
      assert.ok(i < 200, 'b never heard a');
      ta.send([-1, 'ready']);
      await new Promise((r) => setTimeout(r, 50));
    }
    heard.b.length = 0;
    const sent = Array.from({ length: 3000 }, (_, i) => [i, `item ${i} ${'x'.repeat(i % 50)}`] as [number, string]);
    for (const item of sent) ta.send(item);
    for (let i = 0; heard.b.length < sent.length; i++) {
      assert.ok(i < 400, `b heard ${heard.b.length} of ${sent.length}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(heard.b, sent);
    assert.ok(
      heard.a.every((x) => (x as [number])[0] === -1),
      'a heard only b, never itself',
    );
    assert.deepEqual(heard.bOther, []);
    assert.deepEqual(heard.otherSchema, []);
  } finally {
    for (const n of [a, b, other]) await n.close();
    for (const d of dbs) await d.close();
    await s1.drop();
    await s2.drop();
  }
});

test('a listening connection that stops answering (no FIN: a partition) is noticed, made again, and the topic told', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  const schema = await freshPgSchema(url!);
  // A TCP relay in front of PostgreSQL that can stop relaying the connections it has, without closing them.
  const target = new URL(url!);
  const pairs: Socket[][] = [];
  const relay = createServer((down) => {
    const up = connect(Number(target.port || 5432), target.hostname);
    down.pipe(up).pipe(down);
    for (const s of [up, down]) s.on('error', () => {});
    pairs.push([down, up]);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
  const viaRelay = new URL(schema.url);
  viaRelay.port = String((relay.address() as AddressInfo).port);
  const dbs = [openPostgres({ url: schema.url }), openPostgres({ url: schema.url })];
  const a = postgresNotifier({ url: viaRelay.toString(), db: dbs[0], log: silentLogger, heartbeatMs: 300 });
  const b = postgresNotifier({ url: schema.url, db: dbs[1], log: silentLogger });
  try {
    const heard: number[] = [];
    let resumed = 0;
    a.topic<number>(
      't',
      (items) => heard.push(...items),
      () => resumed++,
    ).listen();
    const tb = b.topic<number>('t', () => {});
    const hears = async (n: number) => {
      for (let i = 0; !heard.includes(n); i++) {
        assert.ok(i < 300, `never heard ${n}`);
        tb.send(n);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await hears(1);
    // The partition: the relay keeps the connection open and passes nothing more either way.
    for (const [down, up] of pairs) {
      down.unpipe();
      up.unpipe();
    }
    await hears(2);
    assert.ok(resumed >= 1, 'told it may have missed items');
  } finally {
    for (const p of pairs) for (const s of p) s.destroy();
    await a.close();
    await b.close();
    for (const d of dbs) await d.close();
    relay.close();
    await schema.drop();
  }
});
