// HELP (RFC 5321 section 4.1.1.8).
import { reply } from '../../protocol/smtp/reply.ts';
import type { SmtpSession } from '../session.ts';

export function help(s: SmtpSession): void {
  const hello = s.kind === 'lmtp' ? 'LHLO' : 'EHLO HELO STARTTLS AUTH';
  s.reply(reply(214, '2.0.0', `Commands: ${hello} MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP`));
}
