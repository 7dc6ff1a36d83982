// Store benchmark: append N corpus messages (cycled) to one mailbox, each durable before the next,
// then list them by UID; SQLite and PostgreSQL, beside Dovecot delivering the same messages over LMTP
// (durable per message) and listing them over IMAP. Usage: node bench/store.ts [N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaults } from '../src/config/load.ts';
import { openApp } from '../src/server/app.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { peer, startDovecot } from '../test/helpers/peers.ts';
import { freshPgSchema } from '../test/helpers/pg.ts';
import { loadCorpus } from './lib/corpus.ts';
import { dataBlock, LineClient } from './lib/lmtp.ts';

const N = Number(process.argv[2] ?? 10000);
const corpus = loadCorpus();
const messages = Array.from({ length: N }, (_, i) => corpus[i % corpus.length]);
const bytes = messages.reduce((n, m) => n + m.length, 0);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function petrel(backend: 'sqlite' | 'postgres') {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-bench-'));
  const config = defaults();
  config.server.data_dir = dir;
  let drop: (() => Promise<void>) | null = null;
  if (backend === 'postgres') {
    const s = await freshPgSchema(process.env.PETREL_TEST_PG_URL!);
    config.store.backend = 'postgres';
    config.store.postgres_url = s.url;
    drop = s.drop;
  }
  const app = await openApp(config, silentLogger);
  await app.directory.addDomain('bench.test');
  const acc = await app.directory.addAccount('user1@bench.test', null);
  const inbox = (await app.store.getMailbox(acc.id, 'INBOX'))!;
  let t = performance.now();
  for (const m of messages) await app.mail.append(acc.id, inbox.id, m);
  const appendSeq = performance.now() - t;
  // Concurrent appends (20 in flight), as SMTP and IMAP clients produce them: group commit.
  const box2 = await app.mail.createMailbox(acc.id, 'Concurrent');
  t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < messages.length) await app.mail.append(acc.id, box2.id, messages[next++]);
    }),
  );
  const appendConc = performance.now() - t;
  const lists: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    const rows = await app.store.listMessages(inbox.id);
    lists.push(performance.now() - t);
    if (rows.length !== N) throw new Error(`listed ${rows.length}, expected ${N}`);
  }
  await app.close();
  await drop?.();
  rmSync(dir, { recursive: true, force: true });
  return { appendSeq, appendConc, list: median(lists) };
}

async function dovecot() {
  const d = await startDovecot({ users: 1 });
  try {
    const c = await LineClient.open(d.lmtpPort);
    await c.reply();
    c.write('LHLO bench\r\n');
    await c.reply();
    const t = performance.now();
    for (const m of messages) {
      c.write('MAIL FROM:<bench@bench.test>\r\nRCPT TO:<user1>\r\nDATA\r\n');
      for (let i = 0; i < 3; i++) {
        const r = await c.reply();
        if (!/^[23]/.test(r)) throw new Error(`LMTP: ${r}`);
      }
      c.write(dataBlock(m));
      const r = await c.reply();
      if (!r.startsWith('250')) throw new Error(`LMTP: ${r}`);
    }
    const append = performance.now() - t;
    c.close();
    const imap = await LineClient.open(d.imapPort);
    await imap.line();
    imap.write('a LOGIN user1 pass\r\nb SELECT INBOX\r\n');
    while (!(await imap.line()).startsWith('b ')) {}
    const lists: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t2 = performance.now();
      imap.write(`c${i} UID FETCH 1:* (UID FLAGS)\r\n`);
      let n = 0;
      for (;;) {
        const l = await imap.line();
        if (l.startsWith(`c${i} `)) break;
        n++;
      }
      lists.push(performance.now() - t2);
      if (n !== N) throw new Error(`Dovecot listed ${n}`);
    }
    imap.close();
    return { append, list: median(lists) };
  } finally {
    await d.stop();
  }
}

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
const rate = (ms: number) => `${((N / ms) * 1000).toFixed(0)} msg/s`;
console.log(`store benchmark: ${N} messages (${(bytes / 1e6).toFixed(1)} MB), node ${process.version}`);
const sqlite = await petrel('sqlite');
console.log(
  `petrel sqlite:   append one at a time ${fmt(sqlite.appendSeq)} (${rate(sqlite.appendSeq)}), 20 concurrent ${fmt(sqlite.appendConc)} (${rate(sqlite.appendConc)}), list by UID ${fmt(sqlite.list)}`,
);
if (process.env.PETREL_TEST_PG_URL) {
  const pg = await petrel('postgres');
  console.log(
    `petrel postgres: append one at a time ${fmt(pg.appendSeq)} (${rate(pg.appendSeq)}), 20 concurrent ${fmt(pg.appendConc)} (${rate(pg.appendConc)}), list by UID ${fmt(pg.list)}`,
  );
}
if (!peer('dovecot', 'dovecot-lmtpd').skip) {
  const dv = await dovecot();
  console.log(
    `dovecot:         LMTP delivery one at a time ${fmt(dv.append)} (${rate(dv.append)}), UID FETCH 1:* over IMAP ${fmt(dv.list)}`,
  );
  console.log(
    `ratio (sequential append, petrel sqlite / dovecot): ${(dv.append / sqlite.appendSeq).toFixed(2)}x faster`,
  );
}
