// Shared set-up for the end-to-end tests that cross protocols: a Petrel whose DNS is a server of the
// test's own (MX of remote.test on 127.0.0.2, the domain's DKIM key published), with the listeners a
// test asks for, and small readers for what IMAP and POP3 send back.
import { Resolver } from 'node:dns/promises';
import type { Writable } from 'node:stream';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import type { Config } from '../../src/config/schema.ts';
import { type OutboundFixture, startOutbound } from '../helpers/outbound.ts';

export const USER = 'alice@example.com';
/** startOutbound's password for alice@example.com. */
export const PASS = 'secret-pw';
export const ZONES = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx.postfix.test' }] },
  'mx.postfix.test': { A: ['127.0.0.2'] },
};

type ListenerName = keyof Config['listeners'];

/** A Petrel with the named listeners on (port 0), DNS of the test's own, and an RSA DKIM key for example.com. */
export async function startWorld(opts: {
  listeners: ListenerName[];
  port?: number;
  backend?: 'sqlite' | 'postgres';
  pgUrl?: string;
  configure?: (c: Config) => void;
  /** Log here (JSON lines at info): for tests that read what the server logs. */
  logTo?: Writable;
}): Promise<OutboundFixture> {
  const f = await startOutbound({
    logTo: opts.logTo,
    zones: ZONES,
    port: opts.port,
    backend: opts.backend,
    pgUrl: opts.pgUrl,
    configure(c) {
      for (const name of opts.listeners) c.listeners[name].enabled = true;
      opts.configure?.(c);
    },
  });
  const k = await f.app.dkim.generate('example.com', { algorithm: 'rsa', selector: 'e2e' });
  // As a zone would publish it: 255-octet character-strings.
  f.dns.set('e2e._domainkey.example.com', { TXT: [k.record.match(/.{1,255}/g)!] });
  return f;
}

/** mailauth's DKIM verifier, resolving keys from the test's DNS server with node's own resolver. */
export async function verifyDkim(f: OutboundFixture, message: Buffer): Promise<string[]> {
  const dns = new Resolver();
  dns.setServers([f.dns.address]);
  const res = await dkimVerify(message, {
    resolver: async (name: string, type: string) => {
      if (type !== 'TXT') throw Object.assign(new Error('only TXT here'), { code: 'ENOTFOUND' });
      return dns.resolveTxt(name);
    },
  });
  return res.results.map((r) => `${r.status.result} d=${r.signingDomain} a=${r.algo}`);
}

/** Header field names of a header block ("Name: value\r\n" lines with folded continuations). */
export function fieldNames(block: string): string[] {
  return block
    .split(/\r?\n(?![ \t])/)
    .filter((l) => l !== '')
    .map((l) => l.slice(0, l.indexOf(':')));
}

/** The octets of the literal in an IMAP response line as RawImap inlines it (`... {n}\r\n<octets>...`). */
export function literalOf(line: string): Buffer {
  const m = /\{(\d+)\}\r\n/.exec(line);
  if (!m) throw new Error(`no literal in ${line.slice(0, 200)}`);
  const rest = Buffer.from(line.slice(m.index + m[0].length), 'utf8');
  return rest.subarray(0, Number(m[1]));
}

/** A POP3 multi-line body as received (stuffed, ending CRLF.CRLF) back to the message octets (RFC 1939 section 3). */
export function unstuff(body: Buffer): Buffer {
  const s = body.toString('latin1');
  if (s === '.\r\n') return Buffer.alloc(0);
  const text = s.slice(0, -3); // the final ".\r\n"
  return Buffer.from(text.replace(/(^|\r\n)\./g, '$1'), 'latin1');
}
