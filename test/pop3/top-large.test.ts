// TOP of a 20 MB message reads what it sends (the header section and the first lines), not the message: on
// files and in the database blob store (SQLite and PostgreSQL), with exact CRLF and dot-stuffing. "Read" is
// what the blob store hands the process; SQLite itself still pages through the whole row (see blob/db.ts).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { PASS, type Pop3Env, startPop3Env, USER } from './setup.ts';

const pgUrl = pgTestUrl();

/**
 * A 20 MB message with bare-LF and CRLF lines in both sections and body lines that start with "." (every
 * 7th), so the first lines need both conversions.
 */
const HEADER = 'Subject: big\nX-Filler: 1\r\nX-Other: two\n\n';
function bodyLine(i: number): string {
  return `${i % 7 === 0 ? '.' : ''}line ${i} ${'z'.repeat(70)}${i % 2 ? '\r\n' : '\n'}`;
}
const BODY_LINES = (() => {
  const lines: string[] = [];
  for (let n = 0, i = 0; n < 20_000_000; i++) {
    lines.push(bodyLine(i));
    n += lines[i].length;
  }
  return lines;
})();
const RAW = Buffer.from(HEADER + BODY_LINES.join(''), 'latin1');
/** A per-recipient prefix: sent before the stored message, never read from the blob store. */
const PREFIX = 'Delivered-To: alice@example.test\r\n';

/** What TOP n k must send after its status line: CRLF lines, stuffed, then ".". */
function expected(k: number): string {
  const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');
  return `${crlf(HEADER)}${BODY_LINES.slice(0, k)
    .map((l) => crlf(l).replace(/^\./, '..'))
    .join('')}.\r\n`;
}

/** Counts the octets the blob store hands over: blob streams (files) and blob rows read from the database. */
function countReads(env: Pop3Env): { read: number } {
  const counter = { read: 0 };
  const size = (v: unknown) => (v instanceof Uint8Array ? v.length : 0);
  const rowBytes = (r: unknown) => (r && typeof r === 'object' ? Object.values(r).reduce((n, v) => n + size(v), 0) : 0);
  const db = env.srv.app.db;
  const get = db.get.bind(db);
  const all = db.all.bind(db);
  db.get = (async (sql: string, params?: never) => {
    const r = await get(sql, params);
    counter.read += rowBytes(r);
    return r;
  }) as typeof db.get;
  db.all = (async (sql: string, params?: never) => {
    const rows = await all(sql, params);
    for (const r of rows) counter.read += rowBytes(r);
    return rows;
  }) as typeof db.all;
  const blobs = env.srv.app.blobs;
  if (env.srv.app.config.blobs.backend !== 'database') {
    // Files: the bytes the file streams give; the database tier's rows are counted above.
    const stream = blobs.stream.bind(blobs);
    blobs.stream = async (hash, start, end) => {
      const s = await stream(hash, start, end);
      s.on('data', (c: Buffer) => (counter.read += c.length));
      return s;
    };
  }
  return counter;
}

const envs: Pop3Env[] = [];
after(async () => {
  for (const e of envs) await e.stop();
});

for (const [name, opts] of [
  ['files', {}],
  ['SQLite database blobs', { configure: (c) => (c.blobs.backend = 'database') }],
  ['PostgreSQL database blobs', { backend: 'postgres', pgUrl, configure: (c) => (c.blobs.backend = 'database') }],
] as [string, Parameters<typeof startPop3Env>[0]][])
  test(`TOP of a 20 MB message (${name}): exact output, only what it sends is read`, {
    skip: opts?.backend === 'postgres' && !pgUrl ? PG_SKIP_REASON : undefined,
  }, async () => {
    const env = await startPop3Env(opts);
    envs.push(env);
    await env.deliver(RAW);
    await env.srv.app.mail.deliver(RAW, [{ accountId: env.accountId, prefix: PREFIX }]);
    const counter = countReads(env);
    const c = await Pop3Client.open(env.pop3);
    await c.cmd(`USER ${USER}`);
    assert.match(await c.cmd(`PASS ${PASS}`), /^\+OK/);
    const headerBytes = Buffer.byteLength(HEADER);
    for (const [n, prefix] of [
      [1, ''],
      [2, PREFIX],
    ] as const)
      for (const k of n === 1 ? [0, 1, 8, 3000, 1e9] : [0, 1, 3000]) {
        counter.read = 0;
        assert.equal(await c.cmd(`TOP ${n} ${k}`), '+OK Top of message follows');
        assert.equal((await c.untilTerminator()).toString('latin1'), prefix + expected(k), `TOP ${n} ${k}`);
        if (k === 0) assert.equal(counter.read, headerBytes, 'TOP n 0 reads the header section only');
        else if (k === 1e9) assert.equal(counter.read, RAW.length, 'the whole body: each octet read once');
        else {
          // Past what it needs, TOP reads at most the window it was in (64 KiB, then 4 times more each time).
          const needed = headerBytes + BODY_LINES.slice(0, k).reduce((a, l) => a + l.length, 0);
          assert.ok(counter.read <= needed + 256 * 1024, `TOP ${n} ${k} read ${counter.read} octets for ${needed}`);
        }
      }
    c.destroy();
  });
