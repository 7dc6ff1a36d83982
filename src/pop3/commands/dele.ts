// DELE msg (RFC 1939 section 5): TRANSACTION state. Only marks the message; QUIT expunges it (UPDATE state),
// so a dropped connection or a shutdown deletes nothing.
import type { Handler } from '../commands.ts';
import { messageOrErr } from './message.ts';

export const dele: Handler<'DELE'> = async (s, cmd) => {
  if (!(await messageOrErr(s, cmd.msg))) return;
  s.maildrop!.markDeleted(cmd.msg);
  await s.ok(`Message ${cmd.msg} deleted`);
};
