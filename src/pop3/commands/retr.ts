// RETR msg (RFC 1939 section 5): TRANSACTION state. "+OK n octets", the message as CRLF lines byte-stuffed,
// then "." (see send-message.ts).
import type { Handler } from '../commands.ts';
import { messageOrErr } from './message.ts';
import { sendMessage } from './send-message.ts';

export const retr: Handler<'RETR'> = async (s, cmd) => {
  const m = await messageOrErr(s, cmd.msg);
  if (!m) return;
  await sendMessage(s, cmd.msg, m, null);
  // Sent whole: \Seen at UPDATE (see Maildrop.commit).
  s.maildrop!.markRetrieved(cmd.msg);
};
