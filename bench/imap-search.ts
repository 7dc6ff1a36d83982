// SEARCH on a large mailbox, Petrel's engine beside Dovecot (no FTS plugin) over the same messages:
//   node bench/imap-search.ts [--messages 20000] [--rounds 5] [--backend sqlite|postgres]
// Each corpus message gets a unique header so every copy is a distinct stored body, as in Dovecot.
// Dovecot is timed per UID SEARCH round trip on a warm index; Petrel per engine call (no network).
import { parseArgs } from 'node:util';
import type { SearchSnapshot } from '../src/imap/search/api.ts';
import { searchEngine } from '../src/imap/search/index.ts';
import { corpusSample } from '../test/helpers/corpus.ts';
import { args } from '../test/helpers/imap-args.ts';
import { ImapClient, numbersOf } from '../test/helpers/imap-line-client.ts';
import { openTestMail } from '../test/helpers/mail.ts';
import { startDovecot } from '../test/helpers/peers.ts';
import { appendToDovecot, appendToPetrel, type MirrorMessage } from '../test/helpers/search-mirror.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    backend: { type: 'string', default: 'sqlite' },
  },
});
const N = Number(values.messages);
const ROUNDS = Number(values.rounds);
const backend = values.backend === 'postgres' ? 'postgres' : 'sqlite';
const pgUrl = process.env.PETREL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const QUERIES = [
  'BODY unsubscribe',
  'BODY "not in any message"',
  'TEXT linux',
  'SUBJECT free',
  'FROM yahoo',
  'UNSEEN BODY money',
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function build(): MirrorMessage[] {
  const base = Date.UTC(2024, 0, 1);
  return corpusSample(N).map((raw, i) => ({
    raw: Buffer.concat([Buffer.from(`X-Bench-Seq: ${i}\r\n`), raw]),
    flags: i % 3 === 0 ? ['\\Seen'] : [],
    internalDate: base + i * 60_000,
  }));
}

const msgs = build();
console.log(
  `imap-search: ${N} messages (${(msgs.reduce((n, m) => n + m.raw.length, 0) / 1e6).toFixed(0)} MB), ${backend}, best and median of ${ROUNDS}`,
);
const dovecot = await startDovecot({ users: 1 });
const t = await openTestMail(backend, pgUrl);
try {
  const c = await ImapClient.open(dovecot.imapPort);
  await c.ok('LOGIN user1 pass');
  let t0 = performance.now();
  await appendToDovecot(c, msgs, 200);
  await c.ok('SELECT INBOX');
  const dovecotLoad = performance.now() - t0;
  t0 = performance.now();
  await appendToPetrel(t.mail, t.accountId, t.inbox.id, msgs, 500);
  const petrelLoad = performance.now() - t0;
  console.log(`load: Dovecot ${(dovecotLoad / 1000).toFixed(1)} s, Petrel ${(petrelLoad / 1000).toFixed(1)} s`);

  // The session's view: what a SELECT would hold (records loaded once, outside the timings).
  const records = await t.store.listMessages(t.inbox.id);
  const snap: SearchSnapshot = { mailbox: t.inbox, messages: records, recent: new Set(), saved: null };
  const pad = Math.max(...QUERIES.map((q) => q.length));
  for (const query of QUERIES) {
    const q = searchEngine.parseSearch(args(query), { utf8: false });
    if (!q.ok) throw new Error(q.error);
    // Warm-up: Dovecot fills its cache file, both fill the page cache.
    const dv = numbersOf(await c.ok(`UID SEARCH ${query}`), 'SEARCH');
    const ours = await searchEngine.search(t.mail, snap, q.value);
    const dTimes: number[] = [];
    const pTimes: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      dTimes.push(await time(() => c.ok(`UID SEARCH ${query}`)));
      pTimes.push(await time(() => searchEngine.search(t.mail, snap, q.value)));
    }
    const d = median(dTimes);
    const p = median(pTimes);
    console.log(
      `${query.padEnd(pad)}  hits D ${String(dv.length).padStart(6)} P ${String(ours.length).padStart(6)}  ` +
        `Dovecot ${d.toFixed(1).padStart(8)} ms (best ${Math.min(...dTimes).toFixed(1)})  ` +
        `Petrel ${p.toFixed(1).padStart(7)} ms (best ${Math.min(...pTimes).toFixed(1)})  ` +
        `x${(d / p).toFixed(1)}  [per 10k: D ${((d * 10000) / N).toFixed(0)} ms, P ${((p * 10000) / N).toFixed(1)} ms]`,
    );
  }
  c.close();
} finally {
  await dovecot.stop();
  await t.close();
}
