// Crash safety of SMTP delivery: `petrel serve` in a child process receives 600 messages over 8 concurrent
// connections and is killed with SIGKILL at random moments (4 times), restarted each time. Every message
// that got its 250 must be stored exactly once; a message without a 250 may be stored at most once; every
// stored message must be whole (readable, parsed).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { greetedOrNull, RawSmtp } from '../helpers/smtp-client.ts';
import { openStoppedPetrel, type PetrelProcess, startPetrel, stopPetrel } from './petrel-process.ts';

const N = 600;
const CONCURRENCY = 8;
const KILLS = 4;
const dir = mkdtempSync(join(tmpdir(), 'petrel-crash-'));
let proc: PetrelProcess | null = null;
// Set when the file ends (even by a timeout): the client workers stop instead of retrying forever.
let finished = false;
after(async () => {
  finished = true;
  if (proc) await stopPetrel(proc.child, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function body(i: number): string {
  return (
    `From: load@remote.test\r\nTo: admin@localhost\r\nSubject: crash test ${i}\r\nMessage-ID: <crash-${i}@test>\r\n` +
    `Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\n${`message ${i} `.repeat(40)}\r\n.\r\n`
  );
}

test('SIGKILL at random points loses no acknowledged message and duplicates none', { timeout: 180_000 }, async () => {
  const started = Date.now();
  proc = await startPetrel(dir);
  let port = proc.ports.smtp;
  let alive = true;
  let next = 0;
  const acked = new Set<number>();

  const worker = async () => {
    while (next < N && !finished) {
      if (!alive) {
        await sleep(20);
        continue;
      }
      // Refused while the server is down between a kill and its restart: tried again.
      const c = await greetedOrNull(port, 'crash.test');
      if (!c) {
        await sleep(20);
        continue;
      }
      try {
        while (next < N && !finished) {
          const i = next++;
          c.write('MAIL FROM:<load@remote.test>\r\nRCPT TO:<admin@localhost>\r\nDATA\r\n');
          const codes = [(await c.read()).code, (await c.read()).code, (await c.read()).code];
          if (codes.join() !== '250,250,354') throw new Error(`unexpected ${codes}`);
          c.write(body(i));
          const r = await c.read(10000);
          if (r.code === 250) acked.add(i);
        }
        await c.cmd('QUIT').catch(() => {});
      } catch {
        // The server died mid-transaction: that message has no 250; move on.
      } finally {
        c.close();
      }
    }
  };

  const workers = Array.from({ length: CONCURRENCY }, worker);
  for (let k = 0; k < KILLS && next < N; k++) {
    await sleep(300 + Math.random() * 700);
    alive = false;
    await stopPetrel(proc.child, 'SIGKILL');
    proc = await startPetrel(dir);
    port = proc.ports.smtp;
    alive = true;
  }
  await Promise.all(workers);
  assert.equal(await stopPetrel(proc.child), 0);
  proc = null;

  const app = await openStoppedPetrel(dir);
  try {
    const acc = await app.store.getAccount('admin@localhost');
    const mb = await app.store.getMailbox(acc!.id, 'INBOX');
    const msgs = await app.store.listMessages(mb!.id);
    const bodies = await app.store.getBodies([...new Set(msgs.map((m) => m.bodyId))]);
    const idOf = new Map(bodies.map((b) => [b.id, b.messageId]));
    const seen = new Map<string, number>();
    for (const m of msgs) {
      const id = idOf.get(m.bodyId) ?? '';
      seen.set(id, (seen.get(id) ?? 0) + 1);
      // Whole: the stored bytes are there and end as sent.
      const raw = await (await app.mail.source(m)).read();
      assert.match(raw.toString(), /Message-ID: <crash-\d+@test>\r\n[\s\S]*message \d+ \r\n$/);
    }
    const lost = [...acked].filter((i) => seen.get(`crash-${i}@test`) !== 1);
    const dup = [...seen].filter(([, n]) => n > 1);
    const unacked = N - acked.size;
    const unackedStored = msgs.length - acked.size;
    console.log(
      `crash test: ${N} sent, ${acked.size} acknowledged, ${unacked} without reply (${unackedStored} of those stored), ` +
        `${KILLS} kills, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.deepEqual(lost, [], 'acknowledged messages missing or not exactly once');
    assert.deepEqual(dup, [], 'duplicates');
    assert.ok(acked.size > N / 2, 'most messages went through');
  } finally {
    await app.close();
  }
});

// Graceful stop (SIGTERM) with DATA in flight: a message whose end comes within the grace period is
// answered 250 and stored, or answered 4xx and not stored; one still coming at the deadline is never
// acknowledged. Nothing answered 250 is lost, nothing refused is stored (the client's retry would make it
// two).
test('SIGTERM with DATA in flight: 250 and stored, or refused and not stored', { timeout: 60000 }, async () => {
  const d = mkdtempSync(join(tmpdir(), 'petrel-sigterm-'));
  let p: PetrelProcess | null = await startPetrel(d, { PETREL_SERVER_SHUTDOWN_GRACE_MS: '1500' });
  const clients: RawSmtp[] = [];
  try {
    const K = 12;
    for (let i = 0; i < K; i++) {
      const c = await RawSmtp.open(p.ports.smtp);
      await c.expect(220);
      await c.expect(250, 'EHLO term.test');
      await c.expect(250, 'MAIL FROM:<load@remote.test>');
      await c.expect(250, 'RCPT TO:<admin@localhost>');
      await c.expect(354, 'DATA');
      clients.push(c);
    }
    const text = (i: number) => body(1000 + i);
    const half = (i: number) => text(i).slice(0, 200);
    for (let i = 0; i < K; i++) clients[i].write(half(i));
    const exited = stopPetrel(p.child, 'SIGTERM');
    // A third end their message at once, a third within the grace period, a third after it.
    const outcome = await Promise.all(
      clients.map(async (c, i) => {
        await sleep(i % 3 === 0 ? 0 : i % 3 === 1 ? 400 : 2500);
        c.write(text(i).slice(200));
        try {
          return (await c.read(8000)).code;
        } catch {
          return 0; // closed without a reply
        }
      }),
    );
    assert.equal(await exited, 0, p.stderr());
    p = null;
    const app = await openStoppedPetrel(d);
    try {
      const acc = await app.store.getAccount('admin@localhost');
      const mb = await app.store.getMailbox(acc!.id, 'INBOX');
      const msgs = await app.store.listMessages(mb!.id);
      const bodies = await app.store.getBodies(msgs.map((m) => m.bodyId));
      const stored = bodies.map((b) => Number(/crash-(\d+)@test/.exec(b.messageId ?? '')?.[1]) - 1000);
      console.log(
        `SIGTERM: replies ${outcome.join(',')} (0: closed without one); stored ${stored.sort((a, b) => a - b)}`,
      );
      for (let i = 0; i < K; i++) {
        const n = stored.filter((x) => x === i).length;
        if (outcome[i] === 250) assert.equal(n, 1, `message ${i} got 250 and is stored ${n} times`);
        else if (outcome[i] !== 0) assert.equal(n, 0, `message ${i} was refused (${outcome[i]}) yet stored`);
        else assert.ok(n <= 1);
      }
      assert.ok(
        outcome.some((c) => c === 250),
        'messages ending within the grace period are taken',
      );
    } finally {
      await app.close();
    }
  } finally {
    for (const c of clients) c.close();
    if (p) await stopPetrel(p.child, 'SIGKILL');
    rmSync(d, { recursive: true, force: true });
  }
});
