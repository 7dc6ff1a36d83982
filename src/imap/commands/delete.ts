// DELETE (RFC 9051 section 6.3.5): INBOX cannot be deleted; children stay (the name becomes an
// implied parent in LIST).
import { mailboxArg } from '../args.ts';
import type { Handler } from '../commands.ts';

export const del: Handler = async (s, cmd) => {
  const name = mailboxArg(cmd.args[0], s.utf8);
  if (name === 'INBOX') return { status: 'NO', code: 'CANNOT', text: 'INBOX cannot be deleted' };
  const mb = await s.mail.store.getMailbox(s.accountId, name);
  if (!mb) return { status: 'NO', code: 'NONEXISTENT', text: 'No such mailbox' };
  await s.mail.deleteMailbox(s.accountId, mb.id);
  if (s.selected?.mailbox.id === mb.id) {
    // Our own selected mailbox is gone: back to the authenticated state (as after CLOSE).
    s.selected = null;
    s.state = 'auth';
  }
  return { status: 'OK', text: 'DELETE completed' };
};
