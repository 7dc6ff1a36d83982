// NOOP (RFC 5321 section 4.1.1.9): any argument is ignored.
import { reply } from '../../protocol/smtp/reply.ts';
import type { SmtpSession } from '../session.ts';

export function noop(s: SmtpSession): void {
  s.reply(reply(250, '2.0.0', 'OK'));
}
