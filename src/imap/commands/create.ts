// CREATE (RFC 9051 section 6.3.4) with CREATE-SPECIAL-USE (RFC 6154 section 3): superior names are
// created when missing; a trailing delimiter is dropped.
import type { SpecialUse } from '../../core/model.ts';
import { ArgError, atom, list, mailboxArg } from '../args.ts';
import type { Handler } from '../commands.ts';
import { mailboxObjectId, parents, validNewName } from '../mailboxes.ts';

const USES = new Map(
  ['\\Sent', '\\Drafts', '\\Junk', '\\Trash', '\\Archive', '\\All', '\\Flagged'].map((u) => [u.toLowerCase(), u]),
);

export const create: Handler = async (s, cmd) => {
  const name = validNewName(mailboxArg(cmd.args[0], s.utf8));
  let use: SpecialUse | null = null;
  if (cmd.args.length > 1) {
    // create-param: "USE" SP "(" use-attr *(SP use-attr) ")"
    const params = list(cmd.args[1], 'CREATE parameters');
    if (params.length !== 2 || atom(params[0], 'USE').toUpperCase() !== 'USE')
      throw new ArgError('unknown CREATE parameter');
    const attrs = list(params[1], 'special-use attributes');
    if (attrs.length > 1) return { status: 'NO', code: 'USEATTR', text: 'One special use per mailbox' };
    if (attrs.length === 1) {
      const u = USES.get(atom(attrs[0], 'a special-use attribute').toLowerCase());
      if (!u) return { status: 'NO', code: 'USEATTR', text: 'Unsupported special use' };
      use = u as SpecialUse;
    }
  }
  if (name === 'INBOX') return { status: 'NO', code: 'ALREADYEXISTS', text: 'INBOX always exists' };
  const acc = s.accountId;
  for (const p of parents(name))
    if (!(await s.mail.store.getMailbox(acc, p))) await s.mail.createMailbox(acc, p).catch(() => {});
  const mb = await s.mail.createMailbox(acc, name, use);
  // RFC 8474 section 4.1: CREATE tells the new mailbox's MAILBOXID.
  return { status: 'OK', code: `MAILBOXID (${mailboxObjectId(mb)})`, text: 'CREATE completed' };
};
