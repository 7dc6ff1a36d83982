// Crash safety of mailbox changes, on SQLite and PostgreSQL: `petrel serve` in a child process takes SMTP
// deliveries and IMAP APPEND (single, MULTIAPPEND, CATENATE; some large enough for a blob file), UID MOVE,
// UID COPY, STORE \Seen and UID EXPUNGE from concurrent clients, and is killed with SIGKILL at seeded
// random moments (5 times), restarted each time on the same data. Afterwards:
// - what got its OK (SMTP 250) holds: each message exactly once where it was acknowledged, with the UID the
//   server gave it (APPENDUID, COPYUID), \Seen where a STORE set it, gone where an EXPUNGE or MOVE took it;
// - what was cut short holds as before or as after, never half: a MOVE left its message in exactly one of
//   its two mailboxes, an APPEND stored a message at most once;
// - UIDVALIDITY is unchanged, UIDNEXT and HIGHESTMODSEQ never went back below what a client saw;
// - quota usage and each mailbox's counters equal what the mailboxes hold; every stored body has its blob.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ImapClient } from '../helpers/imap-line-client.ts';
import { waitFor } from '../helpers/outbound.ts';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { greetedOrNull } from '../helpers/smtp-client.ts';
import { openStoppedPetrel, type PetrelProcess, startPetrel, stopPetrel } from './petrel-process.ts';

const KILLS = 5;
const IMAP_WORKERS = 3;
const SMTP_WORKERS = 2;
const USER = 'crash@localhost';
const PASS = 'crash-pw';
const BIG = 200 * 1024; // over blobs.inline_max (128 KiB): a blob file, written before the transaction

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A small seeded generator (mulberry32): the same choices for the same seed. */
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

/** How many copies of a message a mailbox may hold after the crashes, and its UID when acknowledged. */
interface Place {
  min: number;
  max: number;
  uid?: number;
}

interface Msg {
  id: string;
  where: Map<string, Place>;
  /** Mailboxes where a STORE +FLAGS (\Seen) was acknowledged (or carried there by an acknowledged MOVE/COPY). */
  seenIn: Set<string>;
  /** A MOVE cut short: exactly one copy in these two mailboxes together. */
  oneOf?: [string, string];
}

function message(id: string, size: number): Buffer {
  const head =
    `From: crash@remote.test\r\nTo: ${USER}\r\nSubject: ${id}\r\nMessage-ID: <${id}>\r\n` +
    'Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\n';
  const line = `${id} body line\r\n`;
  return Buffer.from(head + line.repeat(Math.max(1, Math.ceil((size - head.length) / line.length))));
}

/** The COPYUID destination UID of a one-message UID COPY or UID MOVE (tagged or untagged OK). */
function copyUid(r: { untagged: string[]; text: string }): number | undefined {
  for (const l of [r.text, ...r.untagged]) {
    const m = /\[COPYUID \d+ \d+ (\d+)\]/.exec(l);
    if (m) return Number(m[1]);
  }
  return undefined;
}

interface Status {
  uidNext: number;
  uidValidity: number;
  modseq: number;
}

function parseStatus(r: { untagged: string[] }): Status {
  const l = r.untagged.find((x) => x.startsWith('STATUS ')) ?? '';
  const n = (k: string) => Number(new RegExp(`${k} (\\d+)`).exec(l)?.[1] ?? Number.NaN);
  return { uidNext: n('UIDNEXT'), uidValidity: n('UIDVALIDITY'), modseq: n('HIGHESTMODSEQ') };
}

async function run(backend: 'sqlite' | 'postgres', seed: number) {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-imap-crash-'));
  const schema = backend === 'postgres' ? await freshPgSchema(pgTestUrl()!) : null;
  const env: Record<string, string> = schema
    ? { PETREL_STORE_BACKEND: 'postgres', PETREL_STORE_POSTGRES_URL: schema.url }
    : {};
  let proc: PetrelProcess | null = null;
  let finished = false;
  try {
    // The account, its mailboxes and the message CATENATE's URLs name, before the first start.
    let anchorValidity: number;
    {
      const app = await openStoppedPetrel(dir, env);
      try {
        await app.directory.addDomain('localhost');
        const acc = await app.directory.addAccount(USER, PASS);
        for (const name of ['Archive', 'Copies', 'Fixed', ...Array.from({ length: IMAP_WORKERS }, (_, w) => `W${w}`)])
          if (!(await app.store.getMailbox(acc.id, name))) await app.mail.createMailbox(acc.id, name);
        const fixed = (await app.store.getMailbox(acc.id, 'Fixed'))!;
        await app.mail.append(acc.id, fixed.id, message('anchor@crash', 600));
        anchorValidity = fixed.uidValidity;
      } finally {
        await app.close();
      }
    }

    const msgs = new Map<string, Msg>();
    const problems: string[] = [];
    /** Per mailbox: the UIDVALIDITY, and the highest UIDNEXT and HIGHESTMODSEQ a client was told. */
    const seenStatus = new Map<string, Status>();
    const noteStatus = (name: string, s: Status) => {
      const prev = seenStatus.get(name);
      if (prev && prev.uidValidity !== s.uidValidity)
        problems.push(`${name}: UIDVALIDITY ${prev.uidValidity} became ${s.uidValidity}`);
      if (prev && s.uidNext < prev.uidNext) problems.push(`${name}: UIDNEXT ${prev.uidNext} went back to ${s.uidNext}`);
      if (prev && s.modseq < prev.modseq)
        problems.push(`${name}: HIGHESTMODSEQ ${prev.modseq} went back to ${s.modseq}`);
      seenStatus.set(name, {
        uidValidity: s.uidValidity,
        uidNext: Math.max(s.uidNext, prev?.uidNext ?? 0),
        modseq: Math.max(s.modseq, prev?.modseq ?? 0),
      });
    };
    /** MULTIAPPENDs cut short: all of their messages stored or none (RFC 3502 section 6.3.11). */
    const groups: string[][] = [];
    const place = (m: Msg, box: string, p: Place) => m.where.set(box, p);
    const newMsg = (id: string, box: string): Msg => {
      const m: Msg = { id, where: new Map([[box, { min: 0, max: 1 }]]), seenIn: new Set() };
      msgs.set(id, m);
      return m;
    };

    proc = await startPetrel(dir, env);
    let alive = true;
    const counts = { smtp: 0, append: 0, multi: 0, catenate: 0, move: 0, copy: 0, seen: 0, expunge: 0, cut: 0 };

    const imapWorker = async (w: number) => {
      const rand = rng(seed * 100 + w);
      const box = `W${w}`;
      /** Messages of this worker in its mailbox with a known UID (the ones later commands may name). */
      const live: { m: Msg; uid: number }[] = [];
      let n = 0;
      while (!finished) {
        if (!alive) {
          await sleep(20);
          continue;
        }
        let c: ImapClient;
        try {
          c = await ImapClient.open(proc!.ports.imap);
          await c.ok(`LOGIN ${USER} ${PASS}`);
          await c.ok(`SELECT ${box}`);
        } catch {
          await sleep(20);
          continue;
        }
        let pending: (() => void) | null = null;
        try {
          while (!finished) {
            const r = rand();
            const pick = () => live.splice(Math.floor(rand() * live.length), 1)[0];
            if (r < 0.3 || live.length === 0) {
              const id = `a${w}-${n++}@crash`;
              const m = newMsg(id, box);
              pending = () => {};
              const reply = await c.command(`APPEND ${box} `, message(id, rand() < 0.15 ? BIG : 800));
              pending = null;
              const uid = Number(/APPENDUID \d+ (\d+)/.exec(reply.text)?.[1]);
              if (reply.status !== 'OK' || !uid) problems.push(`APPEND ${id}: ${reply.status} ${reply.text}`);
              place(m, box, { min: 1, max: 1, uid });
              live.push({ m, uid });
              counts.append++;
            } else if (r < 0.4) {
              const ms = [0, 1, 2].map(() => newMsg(`m${w}-${n++}@crash`, box));
              pending = () => groups.push(ms.map((m) => m.id));
              const reply = await c.command(
                `APPEND ${box} `,
                message(ms[0].id, 700),
                ' (\\Flagged) ',
                message(ms[1].id, rand() < 0.2 ? BIG : 900),
                ' ',
                message(ms[2].id, 500),
              );
              pending = null;
              const set = /APPENDUID \d+ (\d+)(?::(\d+))?/.exec(reply.text);
              if (reply.status !== 'OK' || !set) problems.push(`MULTIAPPEND: ${reply.status} ${reply.text}`);
              const first = Number(set?.[1]);
              ms.forEach((m, i) => {
                place(m, box, { min: 1, max: 1, uid: first + i });
                live.push({ m, uid: first + i });
              });
              counts.multi++;
            } else if (r < 0.5) {
              const id = `c${w}-${n++}@crash`;
              const m = newMsg(id, box);
              const head = `Subject: ${id}\r\nMessage-ID: <${id}>\r\n\r\n`;
              pending = () => {};
              const reply = await c.command(
                `APPEND ${box} CATENATE (TEXT `,
                Buffer.from(head),
                ` URL "/Fixed;UIDVALIDITY=${anchorValidity}/;UID=1/;SECTION=TEXT" TEXT `,
                Buffer.from(`-- ${id}\r\n`),
                ')',
              );
              pending = null;
              const uid = Number(/APPENDUID \d+ (\d+)/.exec(reply.text)?.[1]);
              if (reply.status !== 'OK' || !uid) problems.push(`CATENATE ${id}: ${reply.status} ${reply.text}`);
              place(m, box, { min: 1, max: 1, uid });
              live.push({ m, uid });
              counts.catenate++;
            } else if (r < 0.62) {
              const { m, uid } = pick();
              const seen = m.seenIn.has(box);
              pending = () => {
                place(m, box, { min: 0, max: 1 });
                place(m, 'Archive', { min: 0, max: 1 });
                m.oneOf = [box, 'Archive'];
              };
              const reply = await c.command(`UID MOVE ${uid} Archive`);
              pending = null;
              const to = copyUid(reply);
              if (reply.status !== 'OK' || !to) problems.push(`MOVE ${m.id}: ${reply.status} ${reply.text}`);
              place(m, box, { min: 0, max: 0 });
              place(m, 'Archive', { min: 1, max: 1, uid: to });
              if (seen) m.seenIn.add('Archive');
              m.seenIn.delete(box);
              counts.move++;
            } else if (r < 0.74) {
              const { m, uid } = live[Math.floor(rand() * live.length)];
              const seen = m.seenIn.has(box);
              // A message may be copied more than once: each acknowledged COPY adds one.
              const had = m.where.get('Copies') ?? { min: 0, max: 0 };
              pending = () => place(m, 'Copies', { min: had.min, max: had.max + 1 });
              const reply = await c.command(`UID COPY ${uid} Copies`);
              pending = null;
              const to = copyUid(reply);
              if (reply.status !== 'OK' || !to) problems.push(`COPY ${m.id}: ${reply.status} ${reply.text}`);
              place(m, 'Copies', { min: had.min + 1, max: had.max + 1, uid: had.max === 0 ? to : undefined });
              if (seen) m.seenIn.add('Copies');
              counts.copy++;
            } else if (r < 0.87) {
              const { m, uid } = live[Math.floor(rand() * live.length)];
              pending = () => {};
              const reply = await c.command(`UID STORE ${uid} +FLAGS.SILENT (\\Seen)`);
              pending = null;
              if (reply.status !== 'OK') problems.push(`STORE ${m.id}: ${reply.status} ${reply.text}`);
              m.seenIn.add(box);
              counts.seen++;
            } else {
              const { m, uid } = pick();
              pending = () => place(m, box, { min: 0, max: 1 });
              await c.ok(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
              const reply = await c.command(`UID EXPUNGE ${uid}`);
              pending = null;
              if (reply.status !== 'OK') problems.push(`EXPUNGE ${m.id}: ${reply.status} ${reply.text}`);
              place(m, box, { min: 0, max: 0 });
              counts.expunge++;
            }
            if (rand() < 0.25)
              for (const name of [box, 'Archive', 'Copies'])
                noteStatus(name, parseStatus(await c.ok(`STATUS ${name} (UIDNEXT UIDVALIDITY HIGHESTMODSEQ)`)));
          }
          await c.command('LOGOUT').catch(() => {});
        } catch {
          // The server died mid-command: that command has no reply; its message is left as it may be.
          if (pending) {
            (pending as () => void)();
            counts.cut++;
          }
        } finally {
          c.close();
        }
      }
    };

    let smtpNext = 0;
    const smtpWorker = async () => {
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
            const id = `s-${smtpNext++}@crash`;
            const m = newMsg(id, 'INBOX');
            c.write(`MAIL FROM:<load@remote.test>\r\nRCPT TO:<${USER}>\r\nDATA\r\n`);
            const codes = [(await c.read()).code, (await c.read()).code, (await c.read()).code];
            if (codes.join() !== '250,250,354') throw new Error(`unexpected ${codes}`);
            c.write(`${message(id, 900).toString()}.\r\n`);
            const r = await c.read(10000);
            if (r.code !== 250) problems.push(`SMTP ${id}: ${r.raw}`);
            place(m, 'INBOX', r.code === 250 ? { min: 1, max: 1 } : { min: 0, max: 0 });
            counts.smtp++;
          }
          await c.cmd('QUIT').catch(() => {});
        } catch {
          // No reply: that message may be stored or not (at most once).
        } finally {
          c.close();
        }
      }
    };

    const workers = [
      ...Array.from({ length: IMAP_WORKERS }, (_, w) => imapWorker(w)),
      ...Array.from({ length: SMTP_WORKERS }, smtpWorker),
    ];
    const pace = rng(seed);
    const done = () => Object.values(counts).reduce((a, b) => a + b, 0);
    for (let k = 0; k < KILLS; k++) {
      // Some work in each life (a loaded machine may be slow to start), then a kill at a seeded moment.
      const before = done();
      await waitFor(() => done() >= before + 15, 30000, 'work between kills').catch(() => {});
      await sleep(pace() * 800);
      alive = false;
      await stopPetrel(proc.child, 'SIGKILL');
      proc = await startPetrel(dir, env);
      alive = true;
    }
    await sleep(500);
    finished = true;
    await Promise.all(workers);

    // Over IMAP after the last restart: nothing a client was told went back.
    {
      const c = await ImapClient.open(proc.ports.imap);
      await c.ok(`LOGIN ${USER} ${PASS}`);
      for (const name of seenStatus.keys())
        noteStatus(name, parseStatus(await c.ok(`STATUS ${name} (UIDNEXT UIDVALIDITY HIGHESTMODSEQ)`)));
      await c.command('LOGOUT');
      c.close();
    }
    assert.equal(await stopPetrel(proc.child), 0, proc.stderr());
    proc = null;

    const app = await openStoppedPetrel(dir, env);
    let orphans = 0;
    let temps = 0;
    try {
      const acc = (await app.store.getAccount(USER))!;
      const stored = new Map<string, Map<string, { uid: number; seen: boolean }[]>>();
      let bytes = 0;
      let count = 0;
      const hashes = new Set<string>();
      for (const mb of await app.store.listMailboxes(acc.id)) {
        const list = await app.store.listMessages(mb.id);
        const bodies = new Map(
          (await app.store.getBodies([...new Set(list.map((m) => m.bodyId))])).map((b) => [b.id, b]),
        );
        const here = new Map<string, { uid: number; seen: boolean }[]>();
        let size = 0;
        let unseen = 0;
        for (const m of list) {
          const b = bodies.get(m.bodyId);
          if (!b) {
            problems.push(`${mb.name} UID ${m.uid}: no body row`);
            continue;
          }
          hashes.add(b.hash);
          if (!(await app.blobs.has(b.hash))) problems.push(`${mb.name} UID ${m.uid}: blob ${b.hash} missing`);
          const id = b.messageId ?? '';
          here.set(id, [...(here.get(id) ?? []), { uid: m.uid, seen: m.flags.includes('\\Seen') }]);
          size += m.size;
          if (!m.flags.includes('\\Seen')) unseen++;
          if (m.uid >= mb.uidNext) problems.push(`${mb.name} UID ${m.uid} at or over UIDNEXT ${mb.uidNext}`);
        }
        if (mb.messages !== list.length || mb.size !== size || mb.unseen !== unseen)
          problems.push(
            `${mb.name} counters: ${mb.messages} messages, ${mb.size} octets, ${mb.unseen} unseen; holds ${list.length}, ${size}, ${unseen}`,
          );
        bytes += size;
        count += list.length;
        stored.set(mb.name, here);
      }
      if (acc.usedBytes !== bytes || acc.usedMessages !== count)
        problems.push(`quota usage ${acc.usedBytes} octets, ${acc.usedMessages} messages; holds ${bytes}, ${count}`);
      for (const m of msgs.values()) {
        for (const [box, p] of m.where) {
          const got = stored.get(box)?.get(m.id) ?? [];
          if (got.length < p.min || got.length > p.max)
            problems.push(`${m.id} in ${box}: ${got.length} copies, expected ${p.min}..${p.max}`);
          if (p.uid && got.length === 1 && got[0].uid !== p.uid)
            problems.push(`${m.id} in ${box}: UID ${got[0].uid}, acknowledged as ${p.uid}`);
        }
        for (const box of m.seenIn) {
          const got = stored.get(box)?.get(m.id) ?? [];
          if (got.length === 1 && !got[0].seen) problems.push(`${m.id} in ${box}: \\Seen was acknowledged, now unset`);
        }
        if (m.oneOf) {
          const n = m.oneOf.reduce((k, box) => k + (stored.get(box)?.get(m.id)?.length ?? 0), 0);
          if (n !== 1) problems.push(`${m.id}: a MOVE cut short left ${n} copies in ${m.oneOf.join(' and ')}`);
        }
      }
      for (const g of groups) {
        const n = g.map((id) => stored.get(msgs.get(id)!.where.keys().next().value!)?.get(id)?.length ?? 0);
        if (new Set(n).size !== 1) problems.push(`MULTIAPPEND cut short stored ${n.join(', ')} of ${g.join(' ')}`);
      }
      for (const [box, here] of stored)
        for (const id of here.keys())
          if (!msgs.get(id)?.where.has(box) && id !== 'anchor@crash') problems.push(`${id} in ${box}: never put there`);
      // Blobs nothing refers to (written for a command the kill cut short): the hourly collection's work.
      for await (const h of app.blobs.list()) if (!hashes.has(h)) orphans++;
      const blobDir = join(dir, 'data', 'blobs');
      for (const d of readdirSync(blobDir))
        temps += readdirSync(join(blobDir, d)).filter((f) => f.startsWith('.tmp-')).length;
    } finally {
      await app.close();
    }
    console.log(
      `imap crash (${backend}, seed ${seed}): ${KILLS} kills; ${JSON.stringify(counts)}; ` +
        `${orphans} unreferenced blobs, ${temps} temporary blob files left`,
    );
    assert.deepEqual(problems, []);
    assert.ok(counts.move > 0 && counts.expunge > 0 && counts.smtp > 0, 'the workload ran');
  } finally {
    finished = true;
    if (proc) await stopPetrel(proc.child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    await schema?.drop();
  }
}

const SEED = Number(process.env.PETREL_TEST_SEED ?? 20260105);

describe('IMAP and SMTP mailbox changes across SIGKILL', () => {
  test('SQLite', { timeout: 300_000 }, () => run('sqlite', SEED));
  test('PostgreSQL', { timeout: 300_000, skip: pgTestUrl() ? undefined : PG_SKIP_REASON }, () =>
    run('postgres', SEED + 1),
  );
});
