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
  // Our own selected mailbox is gone: after the tagged OK the session loop says BYE and closes, as for a
  // session whose mailbox another one deleted (RFC 2180 section 3) and as Dovecot 2.3 does for this case.
  // RFC 9051 section 6.3.5 does not say what becomes of the session; a quiet return to the authenticated
  // state (as after CLOSE) was a state change no response announced.
  if (s.selected?.mailbox.id === mb.id) s.selected.gone = true;
  return { status: 'OK', text: 'DELETE completed' };
};
