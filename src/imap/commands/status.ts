// STATUS (RFC 9051 section 6.3.11; SIZE RFC 8438, HIGHESTMODSEQ RFC 7162, MAILBOXID RFC 8474).

import { mailboxName } from '../../protocol/imap/encode.ts';
import { list, mailboxArg } from '../args.ts';
import type { Handler } from '../commands.ts';
import { statusItemNames, statusItems } from '../mailboxes.ts';

export const status: Handler = async (s, cmd) => {
  const name = mailboxArg(cmd.args[0], s.utf8);
  const items = statusItemNames(list(cmd.args[1], 'a list of status items'), s.rev2);
  if (items.includes('HIGHESTMODSEQ')) s.enableCondstore();
  const mb = await s.mail.store.getMailbox(s.accountId, name);
  if (!mb) return { status: 'NO', code: 'NONEXISTENT', text: 'No such mailbox' };
  s.push(`* STATUS ${mailboxName(mb.name, s.utf8)} (${await statusItems(s.mail, mb, items, s.ctx.appendLimit)})\r\n`);
  return undefined;
};
