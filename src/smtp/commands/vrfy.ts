// VRFY and EXPN (RFC 5321 sections 4.1.1.6, 4.1.1.7, 7.3): never confirm who exists here, never list groups.
import { reply } from '../../protocol/smtp/reply.ts';
import type { SmtpSession } from '../session.ts';

export function vrfy(s: SmtpSession, arg: string) {
  if (arg.trim() === '') return s.reply(reply(501, '5.5.4', 'VRFY needs an argument'));
  // 252: "cannot verify, but will accept and attempt delivery" (section 3.5.3).
  s.reply(reply(252, '2.5.2', 'Cannot VRFY user, but will accept message and attempt delivery'));
}

export function expn(s: SmtpSession): void {
  s.reply(reply(502, '5.5.1', 'EXPN not available'));
}
