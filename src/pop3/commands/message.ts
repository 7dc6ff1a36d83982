// Finding the message a command names (RFC 1939: a message-number that may NOT refer to a message marked
// as deleted), with the -ERR every such command gives otherwise.
import type { DropMessage } from '../maildrop.ts';
import type { Pop3Session } from '../session.ts';

/** The live message n, or undefined after answering -ERR. */
export async function messageOrErr(s: Pop3Session, n: number): Promise<DropMessage | undefined> {
  const drop = s.maildrop!;
  const m = drop.get(n);
  if (m) return m;
  if (drop.isDeleted(n)) await s.err(`Message ${n} is marked as deleted`);
  else await s.err(`No such message, only ${drop.highest} in maildrop`);
  return undefined;
}
