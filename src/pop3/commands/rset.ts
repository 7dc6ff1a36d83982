// RSET (RFC 1939 section 5): TRANSACTION state. Unmarks every message marked by DELE, and forgets what RETR
// retrieved (no \Seen for it at QUIT, as in Dovecot).
import type { Handler } from '../commands.ts';

export const rset: Handler<'RSET'> = async (s) => {
  const drop = s.maildrop!;
  drop.reset();
  const { count, size } = drop.totals();
  await s.ok(`Maildrop has ${count} message${count === 1 ? '' : 's'} (${size} octets)`);
};
