// QUIT (RFC 1939 sections 4 and 6): in AUTHORIZATION it only says goodbye; in TRANSACTION it enters the
// UPDATE state, expunges the messages marked by DELE and sets \Seen on those RETR sent (pop3.mark_seen),
// committed before the reply, and releases the lock.
import type { Handler } from '../commands.ts';

export const quit: Handler<'QUIT'> = async (s) => {
  const drop = s.maildrop;
  if (s.state !== 'transaction' || !drop) {
    await s.ok('Petrel POP3 server signing off');
    s.end();
    return;
  }
  s.state = 'update';
  let removed: number;
  let seen: number;
  try {
    ({ removed, seen } = await drop.commit(s.deps.mail, s.deps.config.mark_seen));
  } catch (e) {
    // RFC 1939 section 6: "-ERR some deleted messages not removed"; nothing unmarked was touched.
    s.log.error({ err: e }, 'update failed');
    await s.err('Some deleted messages not removed', 'SYS/TEMP');
    s.end();
    return;
  }
  // What INBOX holds now: other sessions (IMAP, delivery) may have changed it since login. Only a courtesy:
  // the update is committed, so failing to read it must not turn the reply into -ERR (RFC 1939 section 6).
  const now = await s.deps.mail.store.getMailbox(drop.mailbox.accountId, drop.mailbox.id).catch((e: unknown) => {
    s.log.warn({ err: e }, 'maildrop count after the update not read');
    return null;
  });
  const left = now?.messages ?? drop.totals().count;
  s.log.info({ removed, seen, left }, 'update');
  await s.ok(`Petrel POP3 server signing off (${left} message${left === 1 ? '' : 's'} left)`);
  s.end();
};
