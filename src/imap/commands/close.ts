// CLOSE (RFC 9051 section 6.4.1: silently expunges \Deleted unless read-only) and UNSELECT (RFC 3691).
import type { Handler } from '../commands.ts';

export const close: Handler = async (s) => {
  const sel = s.selected!;
  s.selected = null;
  s.state = 'auth';
  s.saved = [];
  if (!sel.readOnly) {
    const msgs = (await s.mail.mailboxRecords(sel.mailbox)) ?? [];
    const del = msgs.filter((m) => m.flags.includes('\\Deleted') && sel.seqOf(m.uid)).map((m) => m.uid);
    if (del.length) await s.mail.expunge(sel.mailbox, del);
  }
  return { status: 'OK', text: 'CLOSE completed' };
};

export const unselect: Handler = async (s) => {
  s.selected = null;
  s.state = 'auth';
  s.saved = [];
  return { status: 'OK', text: 'UNSELECT completed' };
};
