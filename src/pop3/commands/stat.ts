// STAT (RFC 1939 section 5): TRANSACTION state. "+OK count octets", deleted messages not counted.
import type { Handler } from '../commands.ts';

export const stat: Handler<'STAT'> = async (s) => {
  const { count, size } = s.maildrop!.totals();
  await s.ok(`${count} ${size}`);
};
