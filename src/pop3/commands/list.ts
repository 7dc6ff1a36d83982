// LIST [msg] (RFC 1939 section 5): TRANSACTION state. Scan listings "n octets" with the size RETR sends.
import { listing, multiLine } from '../../protocol/pop3/response.ts';
import type { Handler } from '../commands.ts';
import { messageOrErr } from './message.ts';

export const list: Handler<'LIST'> = async (s, cmd) => {
  const drop = s.maildrop!;
  if (cmd.msg !== null) {
    const m = await messageOrErr(s, cmd.msg);
    if (m) await s.ok(listing(cmd.msg, m.size));
    return;
  }
  const lines: string[] = [];
  for (const [n, m] of drop.live()) lines.push(listing(n, m.size));
  const { count, size } = drop.totals();
  await s.send(multiLine(`${count} messages (${size} octets)`, lines));
};
