// RSET (RFC 5321 section 4.1.1.5): abort the transaction, keep the greeting and the authentication.
import { reply } from '../../protocol/smtp/reply.ts';
import type { SmtpSession } from '../session.ts';

export function rset(s: SmtpSession, arg: string) {
  if (arg.trim() !== '') return s.reply(reply(501, '5.5.4', 'RSET takes no argument'));
  s.resetTransaction();
  s.reply(reply(250, '2.0.0', 'Reset OK'));
}
