// AUTH (RFC 4954) with the mechanisms of src/auth/sasl (SCRAM-SHA-256, PLAIN, LOGIN, OAUTHBEARER,
// XOAUTH2): submission listeners only, never over plaintext to another host. "*" cancels (501).
// Credentials are never logged.
import { findMechanism, runSasl } from '../../auth/sasl/index.ts';
import { SaslError, type SaslSuccess } from '../../auth/sasl/types.ts';
import { LineTooLongError } from '../../net/connection.ts';
import { parseAuth } from '../../protocol/smtp/command.ts';
import { reply } from '../../protocol/smtp/reply.ts';
import { instruments } from '../../telemetry/metrics.ts';
import type { SmtpSession } from '../session.ts';

/** SASL responses may be longer than command lines (RFC 4954 section 4: at least 12288 octets). */
const MAX_RESPONSE = 12288;
/** An AUTH command line with an initial response of that length: "AUTH", the mechanism, the response. */
export const AUTH_LINE_MAX = MAX_RESPONSE + 32;

function decode(b64: string): Buffer {
  if (b64 === '*') throw new SaslError('cancelled', 'Authentication cancelled');
  if (b64 === '=') return Buffer.alloc(0);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0)
    throw new SaslError('malformed', 'Cannot decode the response');
  return Buffer.from(b64, 'base64');
}

export async function auth(s: SmtpSession, arg: string): Promise<void> {
  if (s.kind !== 'submission') return s.reply(reply(502, '5.5.1', 'AUTH is not offered here; use submission'));
  if (!s.esmtp) return s.reply(reply(503, '5.5.1', 'Send EHLO first'));
  if (s.account) return s.reply(reply(503, '5.5.1', 'Already authenticated'));
  if (s.tx) return s.reply(reply(503, '5.5.1', 'AUTH is not allowed during a mail transaction'));
  if (!s.authAllowedHere)
    return s.reply(reply(538, '5.7.11', 'Encryption required for requested authentication mechanism'));
  const p = parseAuth(arg);
  if (!p.ok) return s.reply(reply(501, '5.5.4', p.reason));
  const mech = findMechanism(p.value.mechanism);
  if (!mech) return s.reply(reply(504, '5.5.4', 'Unrecognised authentication type'));
  let result: SaslSuccess;
  try {
    const initial = p.value.initial === null ? null : decode(p.value.initial);
    const io = {
      next: async (challenge: Buffer) => {
        s.reply(reply(334, '', challenge.toString('base64')));
        return decode((await s.readLine(MAX_RESPONSE)).bytes.toString('latin1').trim());
      },
    };
    result = await runSasl(
      mech,
      s.deps.auth,
      { protocol: 'smtp', ip: s.conn.remoteAddress, secure: s.secure },
      initial,
      io,
    );
  } catch (e) {
    // RFC 4954 section 4: a response longer than the authentication buffer fails AUTH with 500 5.5.6.
    if (e instanceof LineTooLongError) return s.reply(reply(500, '5.5.6', 'Authentication Exchange line is too long'));
    if (!(e instanceof SaslError)) throw e;
    if (e.kind === 'cancelled') return s.reply(reply(501, '5.0.0', 'Authentication cancelled'));
    if (e.kind === 'malformed') return s.reply(reply(501, '5.5.2', e.message));
    instruments.authAttempts.add(1, { protocol: 'smtp', outcome: 'failure' });
    if (e.kind === 'locked') return s.reply(reply(454, '4.7.0', 'Too many failed sign-ins; try again later'));
    return s.reply(reply(535, '5.7.8', 'Authentication credentials invalid'));
  }
  instruments.authAttempts.add(1, { protocol: 'smtp', outcome: 'success' });
  s.signedIn(result);
  s.log.info({ user: result.account.address, via: result.via, mechanism: mech.name }, 'authenticated');
  s.reply(reply(235, '2.7.0', 'Authentication successful'));
}
