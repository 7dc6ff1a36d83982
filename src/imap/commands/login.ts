// LOGIN (RFC 9051 section 6.2.3): refused without TLS unless loopback plaintext is allowed
// (LOGINDISABLED, RFC 9051 section 11.1). The decision (passwords, app passwords, 2FA rule, lockouts)
// is AuthService's; this file maps its outcome to IMAP replies, shared with AUTHENTICATE.
import { SaslError, type SaslPeer, type SaslSuccess } from '../../auth/sasl/types.ts';
import { instruments } from '../../telemetry/metrics.ts';
import { ArgError, text } from '../args.ts';
import type { Handler, Reply } from '../commands.ts';
import type { ImapSession } from '../session.ts';

/** Failed attempts in one session before the connection is closed. */
const MAX_FAILURES = 5;

export function peerOf(s: ImapSession): SaslPeer {
  return { protocol: 'imap', ip: s.conn.remoteAddress, secure: s.conn.secure };
}

/** Shared by LOGIN and AUTHENTICATE: the reply for a sign-in attempt's outcome. */
export async function finishLogin(s: ImapSession, attempt: Promise<SaslSuccess>): Promise<Reply> {
  let ok: SaslSuccess;
  try {
    ok = await attempt;
  } catch (e) {
    if (!(e instanceof SaslError)) throw e;
    if (e.kind === 'malformed' || e.kind === 'cancelled') return { status: 'BAD', text: e.message };
    instruments.authAttempts.add(1, { protocol: 'imap', outcome: 'failure' });
    s.authFailures++;
    if (s.authFailures >= MAX_FAILURES || e.kind === 'locked') {
      s.push('* BYE Too many failed logins\r\n');
      s.state = 'logout';
    }
    // RFC 5530: UNAVAILABLE is a temporary failure, AUTHENTICATIONFAILED a credentials one.
    if (e.kind === 'locked') return { status: 'NO', code: 'UNAVAILABLE', text: e.message };
    return { status: 'NO', code: 'AUTHENTICATIONFAILED', text: 'Authentication failed' };
  }
  instruments.authAttempts.add(1, { protocol: 'imap', outcome: 'success' });
  s.loggedIn(ok);
  s.log.info({ via: ok.via }, 'logged in');
  return { status: 'OK', code: `CAPABILITY ${s.capabilityList()}`, text: 'Logged in' };
}

export const login: Handler = async (s, cmd) => {
  if (cmd.args.length !== 2) throw new ArgError('LOGIN takes a user name and a password');
  if (!s.loginAllowed) return { status: 'NO', code: 'PRIVACYREQUIRED', text: 'Use STARTTLS first' };
  const user = text(cmd.args[0], 'a user name');
  const password = text(cmd.args[1], 'a password');
  return finishLogin(s, s.ctx.auth.login(user, password, peerOf(s)));
};
