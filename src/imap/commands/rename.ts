// RENAME (RFC 9051 section 6.3.6): children move with the mailbox, UIDVALIDITY stays. Renaming INBOX
// moves its messages to the new mailbox and leaves INBOX empty.
import { mailboxArg } from '../args.ts';
import type { Handler } from '../commands.ts';
import { parents, validNewName } from '../mailboxes.ts';

export const rename: Handler = async (s, cmd) => {
  const from = mailboxArg(cmd.args[0], s.utf8);
  const to = validNewName(mailboxArg(cmd.args[1], s.utf8));
  const acc = s.accountId;
  const src = await s.mail.store.getMailbox(acc, from);
  if (!src) return { status: 'NO', code: 'NONEXISTENT', text: 'No such mailbox' };
  if (to === 'INBOX' || (await s.mail.store.getMailbox(acc, to)))
    return { status: 'NO', code: 'ALREADYEXISTS', text: 'Target mailbox exists' };
  // INBOX is the exception: its messages move, INBOX stays, so "INBOX/old" is an ordinary new child.
  if (from !== 'INBOX' && to.startsWith(`${from}/`))
    return { status: 'NO', code: 'CANNOT', text: 'Cannot rename a mailbox into itself' };
  for (const p of parents(to))
    if (!(await s.mail.store.getMailbox(acc, p))) await s.mail.createMailbox(acc, p).catch(() => {});
  if (from === 'INBOX') {
    const dst = await s.mail.createMailbox(acc, to);
    const uids = await s.mail.store.listUids(src.id);
    if (uids.length) await s.mail.move(src, uids, dst);
  } else await s.mail.renameMailbox(acc, src.id, to);
  return { status: 'OK', text: 'RENAME completed' };
};
