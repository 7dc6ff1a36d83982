// EHLO, HELO (RFC 5321 section 4.1.1.1) and LHLO (RFC 2033 section 4.1): greet, reset any transaction,
// and announce the extensions this session may use now.
import { offeredMechanisms } from '../../auth/sasl/index.ts';
import { parseHelo } from '../../protocol/smtp/command.ts';
import { reply } from '../../protocol/smtp/reply.ts';
import type { SmtpSession } from '../session.ts';

/** The EHLO keywords for this session's state (listener kind, TLS, whether AUTH may be offered). */
export function extensions(s: SmtpSession): string[] {
  const ext = [
    'PIPELINING', // RFC 2920
    `SIZE ${s.deps.limits.max_message_size}`, // RFC 1870
    '8BITMIME', // RFC 6152
    'SMTPUTF8', // RFC 6531
    'ENHANCEDSTATUSCODES', // RFC 2034
    'CHUNKING', // RFC 3030
    'BINARYMIME',
    'DSN', // RFC 3461
  ];
  // RFC 3207: offered before TLS only; LMTP is for trusted local links and gets none.
  if (s.kind !== 'lmtp' && !s.secure) ext.push('STARTTLS');
  // RFC 4954 section 4 / RFC 8314: AUTH on submission only, and never over plaintext to another host.
  if (s.authAllowedHere && !s.account) ext.push(`AUTH ${offeredMechanisms(true).join(' ')}`);
  // RFC 8689 section 2: REQUIRETLS is advertised only on a TLS session.
  if (s.secure) ext.push('REQUIRETLS');
  return ext;
}

function greet(s: SmtpSession, arg: string, esmtp: boolean) {
  const h = parseHelo(arg);
  if (!h.ok) return s.reply(reply(501, '5.5.4', h.reason));
  s.helo = h.value;
  s.esmtp = esmtp;
  s.tx = null;
  s.state = 'hello';
  const greeting = `${s.deps.hostname} Hello ${h.value} [${s.conn.remoteAddress}]`;
  if (!esmtp) return s.reply(reply(250, '', greeting));
  s.reply(reply(250, '', greeting, ...extensions(s)));
}

export const ehlo = (s: SmtpSession, arg: string) => greet(s, arg, true);
export const helo = (s: SmtpSession, arg: string) => greet(s, arg, false);
export const lhlo = (s: SmtpSession, arg: string) => greet(s, arg, true);
