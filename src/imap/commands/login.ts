// LOGIN (RFC 9051 section 6.2.3): refused without TLS unless loopback plaintext is allowed
// (LOGINDISABLED, RFC 9051 section 11.1); failures are slowed and counted.
import type { Account } from '../../core/model.ts';
import { instruments } from '../../telemetry/metrics.ts';
import { ArgError, text } from '../args.ts';
import type { Handler, Reply } from '../commands.ts';
import type { ImapSession } from '../session.ts';

/** Failed attempts before the connection is closed. */
const MAX_FAILURES = 5;
const FAILURE_DELAY_MS = 300;

/** Shared by LOGIN and AUTHENTICATE: checks the password and moves to the authenticated state. */
export async function completeLogin(s: ImapSession, user: string, password: string, authzid = ''): Promise<Reply> {
  let account: Account | null = null;
  if (!authzid || authzid.toLowerCase() === user.toLowerCase()) account = await s.ctx.authenticate(user, password);
  if (!account) {
    instruments.authAttempts.add(1, { protocol: 'imap', outcome: 'failure' });
    s.authFailures++;
    s.log.info({ user: user.slice(0, 100) }, 'login failed');
    await new Promise((r) => setTimeout(r, FAILURE_DELAY_MS * s.authFailures));
    if (s.authFailures >= MAX_FAILURES) {
      s.push('* BYE Too many failed logins\r\n');
      s.state = 'logout';
    }
    return { status: 'NO', code: 'AUTHENTICATIONFAILED', text: 'Authentication failed' };
  }
  instruments.authAttempts.add(1, { protocol: 'imap', outcome: 'success' });
  s.loggedIn(account);
  s.log.info('logged in');
  return { status: 'OK', code: `CAPABILITY ${s.capabilityList()}`, text: 'Logged in' };
}

export const login: Handler = async (s, cmd) => {
  if (cmd.args.length !== 2) throw new ArgError('LOGIN takes a user name and a password');
  if (!s.loginAllowed) return { status: 'NO', code: 'PRIVACYREQUIRED', text: 'Use STARTTLS first' };
  return completeLogin(s, text(cmd.args[0], 'a user name'), text(cmd.args[1], 'a password'));
};
