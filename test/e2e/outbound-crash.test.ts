// Crash safety of the outbound queue, on SQLite and PostgreSQL: `petrel serve` in a child process relays
// mail from a trusted client to remote.test (an SMTP server of the test's own on 127.0.0.2), some of it
// also to a local mailbox, some to a recipient the remote server refuses (a DSN to the sender, local or
// remote), and is killed with SIGKILL at seeded random moments (5 times), restarted each time on the same
// data. Every message that got its 250 reaches the remote server at least once (a kill between its
// delivery and the record of it sends it again: at least once is what SMTP can do), its local copy exactly
// once, and every refused recipient's sender gets a DSN: a remote sender's made once (it is queued with the
// outcome), a local sender's exactly once (appended to the mailbox with the outcome). The queue ends empty.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { App } from '../../src/server/app.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { commonPort, startFakeMta } from '../helpers/fake-mta.ts';
import { waitFor } from '../helpers/outbound.ts';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { greetedOrNull, RawSmtp } from '../helpers/smtp-client.ts';
import { openStoppedPetrel, outboundEnv, type PetrelProcess, startPetrel, stopPetrel } from './petrel-process.ts';

const KILLS = 5;
const WORKERS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A small seeded generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = 'remote' | 'mixed' | 'bounce-local' | 'bounce-remote';

/** Message-IDs (without <>) in a message's octets: its own and those of any message it returns. */
const idsIn = (raw: string) => [...raw.matchAll(/^Message-ID: <([^>]+@crash)>/gim)].map((m) => m[1]);

async function inbox(app: App, address: string): Promise<string[]> {
  const acc = (await app.store.getAccount(address))!;
  const mb = (await app.store.getMailbox(acc.id, 'INBOX'))!;
  const out: string[] = [];
  for (const m of await app.store.listMessages(mb.id)) out.push((await (await app.mail.source(m)).read()).toString());
  return out;
}

async function run(backend: 'sqlite' | 'postgres', seed: number) {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-outbound-crash-'));
  const schema = backend === 'postgres' ? await freshPgSchema(pgTestUrl()!) : null;
  const dns = await startDnsServer({
    'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'elsewhere.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'mx.remote.test': { A: ['127.0.0.2'] },
  });
  const port = await commonPort(['127.0.0.2']);
  const mta = await startFakeMta({
    host: '127.0.0.2',
    port,
    script: (c) => (/^RCPT TO:<bounce/i.test(c) ? '550 5.1.1 no such user' : undefined),
  });
  const env = outboundEnv({ dns: dns.address, port, spam: false, pgUrl: schema?.url });
  let proc: PetrelProcess | null = null;
  let finished = false;
  try {
    {
      const app = await openStoppedPetrel(dir, env);
      try {
        await app.directory.addDomain('localhost');
        await app.directory.addAccount('sender@localhost', 'sender-pw');
        await app.directory.addAccount('local@localhost', 'local-pw');
      } finally {
        await app.close();
      }
    }
    proc = await startPetrel(dir, env);
    let alive = true;
    const acked = new Map<string, Kind>();
    const problems: string[] = [];
    let next = 0;
    const worker = async (w: number) => {
      const rand = rng(seed * 10 + w);
      while (!finished) {
        if (!alive) {
          await sleep(20);
          continue;
        }
        // Refused while the server is down between a kill and its restart: tried again.
        const c = await greetedOrNull(proc!.ports.smtp, 'crash.test');
        if (!c) {
          await sleep(20);
          continue;
        }
        try {
          while (!finished) {
            const id = `o-${next++}@crash`;
            const r = rand();
            const kind: Kind = r < 0.55 ? 'remote' : r < 0.7 ? 'mixed' : r < 0.85 ? 'bounce-local' : 'bounce-remote';
            const from = kind === 'bounce-remote' ? 'alice@elsewhere.test' : 'sender@localhost';
            const rcpts =
              kind === 'mixed'
                ? ['bob@remote.test', 'local@localhost']
                : kind.startsWith('bounce')
                  ? [`bounce-${id.replace('@', '.')}@remote.test`]
                  : ['bob@remote.test'];
            c.write(`MAIL FROM:<${from}>\r\n${rcpts.map((x) => `RCPT TO:<${x}>\r\n`).join('')}DATA\r\n`);
            const codes: number[] = [];
            for (let i = 0; i < rcpts.length + 2; i++) codes.push((await c.read()).code);
            if (codes.at(-1) !== 354) {
              problems.push(`${id}: ${codes}`);
              c.write('RSET\r\n');
              await c.read();
              continue;
            }
            c.write(
              `From: ${from}\r\nTo: ${rcpts.join(', ')}\r\nSubject: ${id}\r\nMessage-ID: <${id}>\r\n` +
                `Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\n${`${id} `.repeat(30)}\r\n.\r\n`,
            );
            const done = await c.read(10000);
            if (done.code === 250) acked.set(id, kind);
            else problems.push(`${id}: ${done.raw}`);
          }
          await c.cmd('QUIT').catch(() => {});
        } catch {
          // Killed mid-transaction: no 250, nothing to hold it to.
        } finally {
          c.close();
        }
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
    const pace = rng(seed);
    for (let k = 0; k < KILLS; k++) {
      await sleep(300 + pace() * 1200);
      alive = false;
      await stopPetrel(proc.child, 'SIGKILL');
      proc = await startPetrel(dir, env);
      alive = true;
    }
    await sleep(300);
    finished = true;
    await Promise.all(workers);

    // Remote copies and remote DSNs, by the Message-ID they carry.
    // A remote DSN also by its own Message-ID: the same DSN twice is its delivery sent again, two of them for
    // one message a DSN made twice.
    const atRemote = () => {
      const sent = new Map<string, number>();
      const dsns = new Map<string, number>();
      const made = new Map<string, Set<string>>();
      for (const m of mta.received()) {
        const raw = m.data.toString();
        const ids = idsIn(raw);
        const into = m.from === '' ? dsns : sent;
        for (const id of ids) into.set(id, (into.get(id) ?? 0) + 1);
        const own = /^Message-ID: <([^>]+)>/im.exec(raw)?.[1] ?? '';
        if (m.from === '') for (const id of ids) made.set(id, (made.get(id) ?? new Set()).add(own));
      }
      return { sent, dsns, made };
    };
    const want = (k: Kind[]) => [...acked].filter(([, kind]) => k.includes(kind)).map(([id]) => id);
    await waitFor(
      () => {
        const { sent, dsns } = atRemote();
        return (
          want(['remote', 'mixed']).every((id) => sent.has(id)) && want(['bounce-remote']).every((id) => dsns.has(id))
        );
      },
      40000,
      'every acknowledged message at the remote server',
    ).catch(() => {});
    // The queue empties (local DSNs are delivered at once; remote ones were waited for above).
    await sleep(1500);
    assert.equal(await stopPetrel(proc.child), 0, proc.stderr());
    proc = null;

    const app = await openStoppedPetrel(dir, env);
    try {
      const { sent, dsns: remoteDsns, made } = atRemote();
      const localDsns = new Map<string, number>();
      for (const raw of await inbox(app, 'sender@localhost'))
        for (const id of idsIn(raw)) localDsns.set(id, (localDsns.get(id) ?? 0) + 1);
      const localCopies = new Map<string, number>();
      for (const raw of await inbox(app, 'local@localhost'))
        for (const id of idsIn(raw)) localCopies.set(id, (localCopies.get(id) ?? 0) + 1);
      for (const id of want(['remote', 'mixed'])) if (!sent.has(id)) problems.push(`${id}: never reached remote.test`);
      for (const id of want(['mixed']))
        if (localCopies.get(id) !== 1) problems.push(`${id}: ${localCopies.get(id) ?? 0} local copies`);
      for (const id of want(['bounce-local']))
        if (!localDsns.has(id)) problems.push(`${id}: no DSN to the local sender`);
        else if (localDsns.get(id)! > 1) problems.push(`${id}: ${localDsns.get(id)} DSNs to the local sender`);
      for (const id of want(['bounce-remote']))
        if (!remoteDsns.has(id)) problems.push(`${id}: no DSN to the remote sender`);
        else if (made.get(id)!.size > 1) problems.push(`${id}: ${made.get(id)!.size} DSNs made for the remote sender`);
      const queued = await app.store.queue.list();
      if (queued.length) problems.push(`${queued.length} messages still queued`);
      const twice = (m: Map<string, number>, ids: string[]) => ids.filter((id) => (m.get(id) ?? 0) > 1).length;
      console.log(
        `outbound crash (${backend}, seed ${seed}): ${KILLS} kills, ${acked.size} acknowledged; ` +
          `sent twice: ${twice(sent, want(['remote', 'mixed']))} of ${want(['remote', 'mixed']).length}; ` +
          `DSN twice: local ${twice(localDsns, want(['bounce-local']))} of ${want(['bounce-local']).length}, ` +
          `remote ${twice(remoteDsns, want(['bounce-remote']))} of ${want(['bounce-remote']).length}` +
          ` (made twice: ${want(['bounce-remote']).filter((id) => (made.get(id)?.size ?? 0) > 1).length})`,
      );
    } finally {
      await app.close();
    }
    assert.deepEqual(problems, []);
    assert.ok(want(['bounce-local']).length > 0 && want(['mixed']).length > 0, 'the workload ran');
  } finally {
    finished = true;
    if (proc) await stopPetrel(proc.child, 'SIGKILL');
    await mta.stop();
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
    await schema?.drop();
  }
}

const SEED = Number(process.env.PETREL_TEST_SEED ?? 20260105);

/** Waits until the process has logged `msg` n times (its log lines are JSON, one a line). */
const logged = (p: PetrelProcess, msg: string, n: number) =>
  waitFor(
    () =>
      p
        .stdout()
        .split('\n')
        .filter((l) => l.includes(`"msg":"${msg}"`)).length >= n,
    10000,
    `${n} × ${msg}`,
  );

// One run of the queue carries several messages over one connection. Their outcomes are recorded as each
// transaction ends: a kill while the sixth waits for its reply sends that one again, not the five the remote
// server had already taken (and answered 250) before it.
async function midRun(backend: 'sqlite' | 'postgres') {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-outbound-midrun-'));
  const schema = backend === 'postgres' ? await freshPgSchema(pgTestUrl()!) : null;
  const dns = await startDnsServer({
    'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'mx.remote.test': { A: ['127.0.0.2'] },
  });
  const port = await commonPort(['127.0.0.2']);
  const env = outboundEnv({ dns: dns.address, port, pgUrl: schema?.url });
  const N = 6;
  let holding = true;
  let mta: Awaited<ReturnType<typeof startFakeMta>> | null = null;
  let p: PetrelProcess | null = null;
  try {
    // First life: nobody listens at the MX, so all six are deferred once and wait, due a second later.
    p = await startPetrel(dir, env);
    const c = await RawSmtp.open(p.ports.smtp);
    await c.expect(220);
    await c.expect(250, 'EHLO client.test');
    for (let i = 0; i < N; i++) {
      await c.expect(250, 'MAIL FROM:<load@client.test>');
      await c.expect(250, 'RCPT TO:<bob@remote.test>');
      await c.expect(354, 'DATA');
      await c.expect(250, `Subject: r${i}\r\nMessage-ID: <r${i}@crash>\r\n\r\nbody ${i}\r\n.`);
    }
    c.close();
    await logged(p, 'queue: deferred', N);
    assert.equal(await stopPetrel(p.child), 0);
    await sleep(1100);
    // Second life: all six are due at start, leased together, sent in one run; the sixth never gets its reply.
    mta = await startFakeMta({ host: '127.0.0.2', port, hold: (accepted) => holding && accepted >= N - 1 });
    p = await startPetrel(dir, env);
    await waitFor(() => mta!.sessions.flatMap((s) => s.commands).filter((x) => x === 'DATA').length >= N, 10000);
    assert.equal(mta.sessions.length, 1, 'one run, one connection');
    await logged(p, 'queue: sent', N - 1).catch(() => {});
    await stopPetrel(p.child, 'SIGKILL');
    holding = false;
    // Third life: what the killed run had not seen answered goes out.
    p = await startPetrel(dir, env);
    const ids = () => mta!.received().map((m) => /Message-ID: <([^>]+)>/.exec(m.data.toString())?.[1]);
    await waitFor(() => ids().includes(`r${N - 1}@crash`), 15000, 'the sixth message');
    const twice = ids().filter((id, i, all) => all.indexOf(id) !== i);
    assert.deepEqual(twice, [], 'messages the remote server had accepted were sent again');
    assert.equal(new Set(ids()).size, N);
  } finally {
    if (p) await stopPetrel(p.child, 'SIGKILL');
    await mta?.stop();
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
    await schema?.drop();
  }
}

// A DSN to a remote sender is a queue row written in the same transaction as the outcome that calls for it:
// a kill between the two can no longer leave the DSN queued (or sent) and the recipient still queued, to be
// tried, refused and reported again at the next start. N messages deferred in a first life (the recipient
// domain's DNS fails) are all due at the second start, where the domain no longer exists: N bounces at once,
// and the process is killed as the first DSN reaches the sender's server. Every sender gets one DSN (which,
// like any message, may reach its server twice when the kill falls between its 250 and the record of it).
async function remoteDsnsOnce(backend: 'sqlite' | 'postgres') {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-outbound-dsn-once-'));
  const schema = backend === 'postgres' ? await freshPgSchema(pgTestUrl()!) : null;
  const dns = await startDnsServer({
    'elsewhere.test': { MX: [{ preference: 10, exchange: 'mx.elsewhere.test' }] },
    'mx.elsewhere.test': { A: ['127.0.0.2'] },
  });
  dns.failing.add('nowhere.test');
  const port = await commonPort(['127.0.0.2']);
  const mta = await startFakeMta({ host: '127.0.0.2', port });
  const env = outboundEnv({ dns: dns.address, port, spam: false, pgUrl: schema?.url });
  const N = 60;
  let p: PetrelProcess | null = null;
  try {
    p = await startPetrel(dir, env);
    const c = await RawSmtp.open(p.ports.smtp);
    await c.expect(220);
    await c.expect(250, 'EHLO client.test');
    for (let i = 0; i < N; i++) {
      await c.expect(250, `MAIL FROM:<s${i}@elsewhere.test>`);
      await c.expect(250, `RCPT TO:<bob${i}@nowhere.test>`);
      await c.expect(354, 'DATA');
      await c.expect(250, `Subject: d${i}\r\nMessage-ID: <d${i}@crash>\r\n\r\nbody ${i}\r\n.`);
    }
    c.close();
    await logged(p, 'queue: deferred', N);
    assert.equal(await stopPetrel(p.child), 0);
    dns.failing.delete('nowhere.test');
    await sleep(1100);
    p = await startPetrel(dir, env);
    const dsns = () => mta.received().filter((m) => m.from === '');
    await waitFor(() => dsns().length > 0, 15000, 'the first DSN');
    await stopPetrel(p.child, 'SIGKILL');
    p = await startPetrel(dir, env);
    // Each DSN by its own Message-ID: one sent again (a kill between the sender's server taking it and the
    // record of that) is SMTP's at-least-once; a second DSN made for the same message is the duplicate.
    const made = () => {
      const byMessage = new Map<string, Set<string>>();
      for (const m of dsns()) {
        const raw = m.data.toString();
        const own = /^Message-ID: <([^>]+)>/im.exec(raw)?.[1] ?? '';
        for (const id of idsIn(raw)) byMessage.set(id, (byMessage.get(id) ?? new Set()).add(own));
      }
      return byMessage;
    };
    await waitFor(() => made().size === N, 20000, 'a DSN for every message').catch(() => {});
    // Quiet for a while: a second DSN for a message would come now.
    await sleep(1500);
    assert.equal(made().size, N, 'a sender got no DSN');
    const twice = [...made()].filter(([, own]) => own.size > 1).map(([id]) => id);
    assert.deepEqual(twice, [], 'senders got two DSNs for one message');
    assert.equal(await stopPetrel(p.child), 0);
    p = null;
  } finally {
    if (p) await stopPetrel(p.child, 'SIGKILL');
    await mta.stop();
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
    await schema?.drop();
  }
}

// A DSN to a local sender is appended to the sender's mailbox in the transaction that records the outcome it
// reports, as a remote sender's DSN is queued in it: a kill cannot leave the DSN delivered and the recipient
// queued, to be tried, refused and reported again at the next start. N messages from a local sender deferred
// in a first life (the recipient domain's DNS fails) are all due at the second start, where the domain no
// longer exists: N bounces at once, and the process is killed as the first DSN is made. Each message has
// exactly one DSN in the sender's INBOX once the queue is empty.
async function localDsnsOnce(backend: 'sqlite' | 'postgres') {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-outbound-local-dsn-once-'));
  const schema = backend === 'postgres' ? await freshPgSchema(pgTestUrl()!) : null;
  const dns = await startDnsServer({});
  dns.failing.add('nowhere.test');
  const port = await commonPort(['127.0.0.2']);
  const env = outboundEnv({ dns: dns.address, port, spam: false, pgUrl: schema?.url });
  const N = 60;
  let p: PetrelProcess | null = null;
  try {
    {
      const app = await openStoppedPetrel(dir, env);
      try {
        await app.directory.addDomain('localhost');
        await app.directory.addAccount('sender@localhost', 'sender-pw');
      } finally {
        await app.close();
      }
    }
    p = await startPetrel(dir, env);
    const c = await RawSmtp.open(p.ports.smtp);
    await c.expect(220);
    await c.expect(250, 'EHLO client.test');
    for (let i = 0; i < N; i++) {
      await c.expect(250, 'MAIL FROM:<sender@localhost>');
      await c.expect(250, `RCPT TO:<bob${i}@nowhere.test>`);
      await c.expect(354, 'DATA');
      await c.expect(250, `Subject: l${i}\r\nMessage-ID: <l${i}@crash>\r\n\r\nbody ${i}\r\n.`);
    }
    c.close();
    await logged(p, 'queue: deferred', N);
    assert.equal(await stopPetrel(p.child), 0);
    dns.failing.delete('nowhere.test');
    await sleep(1100);
    p = await startPetrel(dir, env);
    const first = p;
    await waitFor(() => /"msg":"queue: DSN /.test(first.stdout()), 15000, 'the first DSN');
    await stopPetrel(p.child, 'SIGKILL');
    p = await startPetrel(dir, env);
    const last = p;
    await waitFor(
      () =>
        last
          .stdout()
          .split('\n')
          .filter((l) => l.includes('"msg":"queue: failed"')).length > 0,
      15000,
      'the bounces recorded',
    ).catch(() => {});
    // Quiet for a while: the rest of the bounces (and any second DSN) come now.
    await sleep(2000);
    assert.equal(await stopPetrel(p.child), 0);
    p = null;
    const app = await openStoppedPetrel(dir, env);
    try {
      const dsns = new Map<string, number>();
      for (const raw of await inbox(app, 'sender@localhost'))
        for (const id of idsIn(raw)) dsns.set(id, (dsns.get(id) ?? 0) + 1);
      assert.deepEqual(await app.store.queue.list(), [], 'the queue empties');
      assert.equal(dsns.size, N, 'a message got no DSN');
      const twice = [...dsns].filter(([, n]) => n > 1).map(([id]) => id);
      assert.deepEqual(twice, [], 'the sender got two DSNs for one message');
    } finally {
      await app.close();
    }
  } finally {
    if (p) await stopPetrel(p.child, 'SIGKILL');
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
    await schema?.drop();
  }
}

// The node id names this node's leases across restarts (<data_dir>/node-id). A start killed between creating
// that file and writing it (or a power cut before its octets reached the disk) leaves it empty: the next start
// must still settle on one id and keep it, or every later start has a new one and never takes back what its
// killed predecessor had leased (queue.lease, 15 minutes by default).
test('an empty node-id file left by a crash: a killed delivery is taken back at the next start', {
  timeout: 60000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-node-id-'));
  const dns = await startDnsServer({
    'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'mx.remote.test': { A: ['127.0.0.2'] },
  });
  const port = await commonPort(['127.0.0.2']);
  let holding = true;
  const mta = await startFakeMta({ host: '127.0.0.2', port, hold: () => holding });
  const env = outboundEnv({ dns: dns.address, port });
  let p: PetrelProcess | null = null;
  try {
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'node-id'), '');
    // A start that settles on an id, then one whose delivery hangs and is killed.
    p = await startPetrel(dir, env);
    assert.equal(await stopPetrel(p.child), 0);
    p = await startPetrel(dir, env);
    const c = await RawSmtp.open(p.ports.smtp);
    await c.expect(220);
    await c.expect(250, 'EHLO client.test');
    await c.expect(250, 'MAIL FROM:<load@client.test>');
    await c.expect(250, 'RCPT TO:<bob@remote.test>');
    await c.expect(354, 'DATA');
    await c.expect(250, 'Subject: held\r\nMessage-ID: <held@crash>\r\n\r\nheld\r\n.');
    c.close();
    await waitFor(() => mta.sessions.some((s) => s.commands.includes('DATA')), 10000, 'the delivery in flight');
    await stopPetrel(p.child, 'SIGKILL');
    holding = false;
    p = await startPetrel(dir, env);
    // On the retry schedule (1 s), not after queue.lease.
    await waitFor(() => mta.received().length === 1, 20000, 'the killed delivery, taken back').catch(() => {});
    assert.equal(mta.received().length, 1, "the killed run's lease was not taken back: the node id changed");
  } finally {
    if (p) await stopPetrel(p.child, 'SIGKILL');
    await mta.stop();
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('outbound queue across SIGKILL', () => {
  test('mid-run, SQLite: only the message in flight is sent again', { timeout: 60000 }, () => midRun('sqlite'));
  test(
    'mid-run, PostgreSQL: only the message in flight is sent again',
    { timeout: 60000, skip: pgTestUrl() ? undefined : PG_SKIP_REASON },
    () => midRun('postgres'),
  );
  test('a DSN to a remote sender, SQLite: queued with the outcome, sent once', { timeout: 90000 }, () =>
    remoteDsnsOnce('sqlite'),
  );
  test(
    'a DSN to a remote sender, PostgreSQL: queued with the outcome, sent once',
    { timeout: 90000, skip: pgTestUrl() ? undefined : PG_SKIP_REASON },
    () => remoteDsnsOnce('postgres'),
  );
  test('a DSN to a local sender, SQLite: delivered with the outcome, once', { timeout: 90000 }, () =>
    localDsnsOnce('sqlite'),
  );
  test(
    'a DSN to a local sender, PostgreSQL: delivered with the outcome, once',
    { timeout: 90000, skip: pgTestUrl() ? undefined : PG_SKIP_REASON },
    () => localDsnsOnce('postgres'),
  );
  test('SQLite', { timeout: 240_000 }, () => run('sqlite', SEED));
  test('PostgreSQL', { timeout: 240_000, skip: pgTestUrl() ? undefined : PG_SKIP_REASON }, () =>
    run('postgres', SEED + 1),
  );
});
