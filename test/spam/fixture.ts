// A Petrel whose MX listener filters mail from the internet, its DNS a server of the test's own that
// publishes the senders' SPF, DKIM and DMARC records; clients are nodemailer from 127.0.0.x with a HELO
// of the test's choosing; messages are signed with keys the test generates (mailauth's signer).
import { generateKeyPairSync } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import type { Writable } from 'node:stream';
import { authenticate } from 'mailauth';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import nodemailer from 'nodemailer';
import type { Config } from '../../src/config/schema.ts';
import { publicRecord } from '../../src/dkim/keys.ts';
import { rfc5322Date } from '../../src/mime/date.ts';
import type { Zone } from '../helpers/dns-server.ts';
import { type OutboundFixture, startOutbound } from '../helpers/outbound.ts';

export const USER = 'alice@example.com';

export interface TestKey {
  domain: string;
  selector: string;
  privateKey: string;
}

/** A fresh DKIM key, published as <selector>._domainkey.<domain> in the test's DNS. */
export function publishKey(f: OutboundFixture, domain: string, selector: string, type: 'rsa' | 'ed25519' = 'rsa') {
  const { privateKey } =
    type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const { record } = publicRecord(privateKey);
  f.dns.set(`${selector}._domainkey.${domain}`, { TXT: [record.match(/.{1,255}/g)!] });
  return { domain, selector, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** The message with a DKIM-Signature of `key` on top; `bodyLength`: signed with l= (that many octets). */
export async function sign(raw: string, key: TestKey, bodyLength?: number): Promise<string> {
  const res = await dkimSign(Buffer.from(raw), {
    signingDomain: key.domain,
    selector: key.selector,
    privateKey: key.privateKey,
    canonicalization: 'relaxed/relaxed',
    signatureData: [
      {
        signingDomain: key.domain,
        selector: key.selector,
        privateKey: key.privateKey,
        canonicalization: 'relaxed/relaxed',
        ...(bodyLength !== undefined && { maxBodyLength: bodyLength }),
      },
    ],
  });
  if (res.errors?.length || !res.signatures) throw new Error('signing failed');
  return res.signatures + raw;
}

export function message(from: string, subject: string, extraHeaders = '', body = 'Hello Alice.\r\n'): string {
  return (
    `${extraHeaders}From: ${from}\r\nTo: ${USER}\r\nSubject: ${subject}\r\n` +
    `Date: ${rfc5322Date(Date.now())}\r\nMessage-ID: <${subject.replace(/\W/g, '')}.${Date.now()}@test>\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${body}`
  );
}

export interface SendResult {
  ok: boolean;
  code: number;
  response: string;
}

/** One SMTP transaction with nodemailer from `ip` (a 127.0.0.x address), HELO `helo`. */
export async function send(
  f: OutboundFixture,
  opts: { ip: string; helo: string; from: string; to?: string[]; raw: string },
): Promise<SendResult> {
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port: f.server.ports.smtp,
    secure: false,
    ignoreTLS: true,
    localAddress: opts.ip,
    name: opts.helo,
    connectionTimeout: 10000,
    greetingTimeout: 10000,
    socketTimeout: 20000,
  });
  return transact(t, { from: opts.from, to: opts.to ?? [USER] }, opts.raw);
}

/** One transaction on a transport, closed after: what the server answered, refusals included. */
async function transact(
  t: ReturnType<typeof nodemailer.createTransport>,
  envelope: { from: string; to: string[] },
  raw: string,
): Promise<SendResult> {
  try {
    const info = await t.sendMail({ envelope, raw });
    return { ok: true, code: 250, response: info.response };
  } catch (e) {
    const err = e as { responseCode?: number; response?: string; message: string };
    return { ok: false, code: err.responseCode ?? 0, response: err.response ?? err.message };
  } finally {
    t.close();
  }
}

/** Submits as alice (AUTH PLAIN on the submission port, no TLS: loopback), from her address. */
export function submit(f: OutboundFixture, opts: { to: string[]; raw: string }): Promise<SendResult> {
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port: f.server.ports.submission,
    secure: false,
    ignoreTLS: true,
    auth: { user: USER, pass: 'secret-pw' },
  });
  return transact(t, { from: USER, to: opts.to }, opts.raw);
}

/** Raw messages of a local account's mailbox (by name), oldest first. */
export async function mailbox(f: OutboundFixture, address: string, name: string): Promise<string[]> {
  const acc = await f.app.store.getAccount(address);
  const mb = await f.app.store.getMailbox(acc!.id, name);
  const msgs = await f.app.store.listMessages(mb!.id);
  return Promise.all(msgs.map(async (m) => (await (await f.app.mail.source(m)).read()).toString('utf8')));
}

/** The header block of a stored message. */
export const headerOf = (raw: string) => raw.slice(0, raw.indexOf('\r\n\r\n') + 2);

/** The Authentication-Results fields of a stored message, unfolded. */
export function authResults(raw: string): string[] {
  return headerOf(raw)
    .split(/\r\n(?![ \t])/)
    .filter((l) => /^authentication-results:/i.test(l))
    .map((l) => l.replace(/\r\n[ \t]+/g, ' '));
}

export async function startSpamWorld(opts: {
  zones?: Record<string, Zone>;
  configure?: (c: Config) => void;
  backend?: 'sqlite' | 'postgres';
  pgUrl?: string;
  /** Loopback addresses of the remote MTAs the test will start (one common port). */
  hosts?: string[];
  /** Log here (JSON lines at info): for tests that read what the server logs. */
  logTo?: Writable;
  /** Set-up before the listeners open (alice@example.com exists by then). */
  beforeServe?: (app: OutboundFixture['app']) => Promise<void>;
}): Promise<OutboundFixture> {
  return startOutbound({
    logTo: opts.logTo,
    beforeServe: opts.beforeServe,
    zones: opts.zones,
    hosts: opts.hosts,
    backend: opts.backend,
    pgUrl: opts.pgUrl,
    configure(c) {
      c.listeners.smtp.enabled = true;
      c.dns.timeout_ms = 400;
      c.dns.tries = 1;
      c.spam.dns_timeout_ms = 600;
      c.spam.timeout_ms = 5000;
      opts.configure?.(c);
    },
  });
}

/**
 * What the next server finds when our queue (on 127.0.0.1) hands it a message: mailauth's verifier over the
 * test's DNS, as a receiving MTA would run it.
 */
export async function verifyAtReceiver(f: OutboundFixture, data: Buffer, sender: string, opts: { arc?: boolean } = {}) {
  const dns = new Resolver();
  dns.setServers([f.dns.address]);
  return authenticate(data, {
    ip: '127.0.0.1',
    helo: 'mx.test.petrel',
    sender,
    mta: 'receiver.remote.test',
    resolver: (async (name: string, type: string) => dns.resolve(name, type as 'TXT')) as never,
    disableBimi: true,
    disableArc: opts.arc === false,
  });
}

/**
 * The account's newest message (INBOX or Junk): the mailbox it is in and its stored verdict's symbols
 * (name -> score). Takes anything with the server's `app` (a spam world, a test server).
 */
export async function newestVerdict(
  f: { app: OutboundFixture['app'] },
  address: string,
): Promise<{ box: string; symbols: Record<string, number> }> {
  const acc = await f.app.store.getAccount(address);
  let newest: { id: number; box: string } | undefined;
  for (const box of ['INBOX', 'Junk']) {
    const mb = await f.app.store.getMailbox(acc!.id, box);
    for (const m of mb ? await f.app.store.listMessages(mb.id) : [])
      if (!newest || m.id > newest.id) newest = { id: m.id, box };
  }
  const [row] = await f.app.store.spam.verdictsFor(acc!.id, newest!.id);
  const symbols = Object.fromEntries(
    (JSON.parse(row.symbols) as { name: string; score: number }[]).map((s) => [s.name, s.score]),
  );
  return { box: newest!.box, symbols };
}

/** The symbols and scores of the verdict stored with the account's newest message (INBOX or Junk). */
export async function verdictSymbols(f: OutboundFixture, address: string): Promise<Record<string, number>> {
  return (await newestVerdict(f, address)).symbols;
}

/**
 * Waits, when the next clock hour is less than `marginMs` away, until it has begun: for tests of what is
 * counted per clock hour (DMARC failure reports), which must not see the count start over halfway.
 */
export async function awayFromHourBoundary(marginMs = 30_000): Promise<void> {
  const left = 3_600_000 - (Date.now() % 3_600_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 100));
}
