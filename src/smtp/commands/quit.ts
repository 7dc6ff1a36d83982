// QUIT (RFC 5321 section 4.1.1.10): 221, then close; a transaction in progress is abandoned.
import { reply } from '../../protocol/smtp/reply.ts';
import type { SmtpSession } from '../session.ts';

export async function quit(s: SmtpSession): Promise<void> {
  s.reply(reply(221, '2.0.0', `${s.deps.hostname} Bye`));
  await s.close();
}
