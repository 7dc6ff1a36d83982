// AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN: submission listeners only, never over plaintext to
// another host. Credentials are never logged.
import { decodePlain } from '../../auth/sasl-plain.ts';
import { parseAuth } from '../../protocol/smtp/command.ts';
import { reply } from '../../protocol/smtp/reply.ts';
import { instruments } from '../../telemetry/metrics.ts';
import type { SmtpSession } from '../session.ts';

/** SASL responses may be longer than command lines (RFC 4954 section 4: at least 12288 octets). */
const MAX_RESPONSE = 12288;

type Step = { ok: true; value: string } | { ok: false };

/** Sends a 334 challenge and reads the base64 answer as sent; '*' cancels (RFC 4954 section 4). */
async function challenge(s: SmtpSession, prompt: string): Promise<string> {
  s.reply(reply(334, '', prompt));
  return (await s.readLine(MAX_RESPONSE)).bytes.toString('latin1').trim();
}

function decodeB64(b64: string): Step {
  if (b64 === '=') return { ok: true, value: '' };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return { ok: false };
  return { ok: true, value: Buffer.from(b64, 'base64').toString('utf8') };
}

export async function auth(s: SmtpSession, arg: string): Promise<void> {
  if (s.kind !== 'submission') return s.reply(reply(502, '5.5.1', 'AUTH is not offered here; use submission'));
  if (!s.esmtp) return s.reply(reply(503, '5.5.1', 'Send EHLO first'));
  if (s.account) return s.reply(reply(503, '5.5.1', 'Already authenticated'));
  if (!s.authAllowedHere)
    return s.reply(reply(538, '5.7.11', 'Encryption required for requested authentication mechanism'));
  const p = parseAuth(arg);
  if (!p.ok) return s.reply(reply(501, '5.5.4', p.reason));
  let user: string;
  let password: string;
  if (p.value.mechanism === 'PLAIN') {
    const b64 = p.value.initial ?? (await challenge(s, ''));
    if (b64 === '*') return s.reply(reply(501, '5.0.0', 'Authentication cancelled'));
    const creds = decodePlain(b64);
    if (!creds) return s.reply(reply(501, '5.5.2', 'Cannot decode the PLAIN response'));
    // No proxy authorisation: an authzid, if given, must name the same user.
    if (creds.authzid && creds.authzid.toLowerCase() !== creds.authcid.toLowerCase()) return fail(s);
    user = creds.authcid;
    password = creds.password;
  } else if (p.value.mechanism === 'LOGIN') {
    const u64 = p.value.initial ?? (await challenge(s, 'VXNlcm5hbWU6'));
    if (u64 === '*') return s.reply(reply(501, '5.0.0', 'Authentication cancelled'));
    const u = decodeB64(u64);
    if (!u.ok) return s.reply(reply(501, '5.5.2', 'Cannot decode the response'));
    const p64 = await challenge(s, 'UGFzc3dvcmQ6');
    if (p64 === '*') return s.reply(reply(501, '5.0.0', 'Authentication cancelled'));
    const pw = decodeB64(p64);
    if (!pw.ok) return s.reply(reply(501, '5.5.2', 'Cannot decode the response'));
    user = u.value;
    password = pw.value;
  } else return s.reply(reply(504, '5.5.4', 'Unrecognised authentication type'));

  const account = await s.deps.directory.authenticate(user, password);
  if (!account) return fail(s, user);
  instruments.authAttempts.add(1, { protocol: 'smtp', outcome: 'success' });
  s.account = account;
  s.log.info({ user: account.address }, 'authenticated');
  s.reply(reply(235, '2.7.0', 'Authentication successful'));
}

function fail(s: SmtpSession, user?: string): void {
  instruments.authAttempts.add(1, { protocol: 'smtp', outcome: 'failure' });
  s.log.info({ user: user?.slice(0, 100) }, 'authentication failed');
  s.reply(reply(535, '5.7.8', 'Authentication credentials invalid'));
}
