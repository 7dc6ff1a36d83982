// IDLE (RFC 2177, RFC 9051 section 6.3.13): `+ idling`, then changes are pushed as they happen until
// the client sends DONE. The connection's 30-minute inactivity limit still applies.
import type { Handler } from '../commands.ts';

export const idle: Handler = async (s) => {
  s.push('+ idling\r\n');
  if (s.selected) await s.syncNow(true);
  await s.flush();
  // The selected mailbox was deleted before IDLE: the session loop says BYE (RFC 2180 section 3.3).
  if (s.selected?.gone) return { status: 'BYE', text: 'Mailbox deleted' };
  s.idling = true;
  let line: string;
  try {
    line = (await s.conn.readLine(64)).bytes.toString('latin1');
  } finally {
    s.idling = false;
  }
  if (line.toUpperCase() !== 'DONE') return { status: 'BAD', text: 'Expected DONE' };
  return { status: 'OK', text: 'IDLE terminated' };
};
