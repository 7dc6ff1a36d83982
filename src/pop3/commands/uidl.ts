// UIDL [msg] (RFC 1939 section 7): TRANSACTION state. Unique-id listings "n <uidvalidity>.<uid>": the
// message's IMAP identity in INBOX, so it never changes and is never reused (see maildrop.ts).
import { listing, multiLine } from '../../protocol/pop3/response.ts';
import type { Handler } from '../commands.ts';
import { messageOrErr } from './message.ts';

export const uidl: Handler<'UIDL'> = async (s, cmd) => {
  if (cmd.msg !== null) {
    const m = await messageOrErr(s, cmd.msg);
    if (m) await s.ok(listing(cmd.msg, m.uidl));
    return;
  }
  const lines: string[] = [];
  for (const [n, m] of s.maildrop!.live()) lines.push(listing(n, m.uidl));
  await s.send(multiLine('Unique-id listing follows', lines));
};
