// TOP msg n (RFC 1939 section 7): TRANSACTION state. The header, the blank line, then the first n lines of
// the body (all of it when it has fewer), byte-stuffed, then ".".
import type { Handler } from '../commands.ts';
import { messageOrErr } from './message.ts';
import { sendMessage } from './send-message.ts';

export const top: Handler<'TOP'> = async (s, cmd) => {
  const m = await messageOrErr(s, cmd.msg);
  if (m) await sendMessage(s, cmd.msg, m, cmd.lines);
};
