// Shared set-up for SMTP tests: a server with one local domain and a few accounts, and reading back what
// an account's INBOX holds.
import assert from 'node:assert/strict';
import type { Config } from '../../src/config/schema.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';

export const DOMAIN = 'example.test';
export const PASSWORD = 'correct horse battery';

export interface SmtpTestServer extends TestServer {
  /** Raw messages in an account's INBOX (prefix included), oldest first. */
  inbox(address: string): Promise<Buffer[]>;
}

export async function startSmtpServer(
  opts: { configure?: (c: Config) => void; backend?: 'sqlite' | 'postgres'; pgUrl?: string } = {},
): Promise<SmtpTestServer> {
  const t = await startTestServer({
    backend: opts.backend,
    pgUrl: opts.pgUrl,
    configure: (c) => {
      c.listeners.lmtp.enabled = true;
      c.listeners.imap.enabled = false;
      c.listeners.imaps.enabled = false;
      c.listeners.pop3.enabled = false;
      c.listeners.pop3s.enabled = false;
      c.listeners.http.enabled = false;
      c.bootstrap.domain = DOMAIN;
      opts.configure?.(c);
    },
  });
  const dir = t.app.directory;
  await dir.addDomain(DOMAIN);
  await dir.addAccount(`alice@${DOMAIN}`, PASSWORD);
  await dir.addAccount(`bob@${DOMAIN}`, PASSWORD);
  await dir.addAccount(`postmaster@${DOMAIN}`, PASSWORD);
  return {
    ...t,
    async inbox(address: string) {
      const acc = await t.app.store.getAccount(address);
      if (!acc) throw new Error(`no account ${address}`);
      const mb = await t.app.store.getMailbox(acc.id, 'INBOX');
      const out: Buffer[] = [];
      for (const m of await t.app.store.listMessages(mb!.id)) out.push(await (await t.app.mail.source(m)).read());
      return out;
    },
  };
}

/** A small message with a unique Message-ID; CRLF line ends. */
export function message(
  opts: { from?: string; to?: string; subject?: string; body?: string; id?: string } = {},
): string {
  const id = opts.id ?? `${Math.random().toString(36).slice(2)}@test`;
  return (
    `From: ${opts.from ?? `sender@remote.test`}\r\n` +
    `To: ${opts.to ?? `alice@${DOMAIN}`}\r\n` +
    `Subject: ${opts.subject ?? 'hello'}\r\n` +
    `Message-ID: <${id}>\r\n` +
    `Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n` +
    `\r\n` +
    `${opts.body ?? 'Hello there.\r\n'}`
  );
}

/**
 * Splits a stored message into the header lines added on the way in (Delivered-To, Return-Path, Received,
 * and the spam filter's Authentication-Results and X-Spam-*) and the rest.
 */
export function splitTrace(stored: Buffer): { trace: string; rest: Buffer } {
  const s = stored.toString('latin1');
  let i = 0;
  for (;;) {
    const m =
      /^(Delivered-To|Return-Path|Received|Authentication-Results|X-Spam-[A-Za-z]+):[^\n]*\n(?:[ \t][^\n]*\n)*/.exec(
        s.slice(i),
      );
    if (!m) break;
    i += m[0].length;
  }
  return { trace: stored.subarray(0, i).toString('utf8'), rest: stored.subarray(i) };
}

/**
 * Eight senders reach DATA while edge@ (a message quota of 1) is empty, then all end their message at once:
 * exactly one may get 250, the others 552 5.2.2 (the store's check inside its transaction).
 */
export async function eightSendersAtTheEdge(t: SmtpTestServer): Promise<void> {
  const acc = await t.app.directory.addAccount(`edge@${DOMAIN}`, PASSWORD);
  await t.app.store.updateAccount(acc.id, { quotaMessages: 1 });
  // Eight senders each reach DATA while the mailbox is empty, then all end their message at once.
  const conns: RawSmtp[] = [];
  for (let i = 0; i < 8; i++) {
    const c = await RawSmtp.open(t.ports.smtp);
    await c.expect(220);
    await c.expect(250, 'EHLO quota.test');
    await c.expect(250, 'MAIL FROM:<a@remote.test>');
    await c.expect(250, `RCPT TO:<edge@${DOMAIN}>`);
    await c.expect(354, 'DATA');
    conns.push(c);
  }
  const replies = await Promise.all(
    conns.map((c, i) => c.cmd(`${message({ to: `edge@${DOMAIN}`, subject: `r${i}` })}.`)),
  );
  for (const c of conns) c.close();
  const codes = replies.map((r) => `${r.code} ${r.lines.join(' ')}`);
  assert.equal(codes.filter((r) => r.startsWith('250 ')).length, 1, codes.join('\n'));
  for (const r of codes) assert.match(r, /^(250 |552 5\.2\.2 )/);
  assert.equal((await t.inbox(`edge@${DOMAIN}`)).length, 1);
}
