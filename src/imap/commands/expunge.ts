// EXPUNGE (RFC 9051 section 6.4.3) and UID EXPUNGE (RFC 4315 section 2.1): removes \Deleted messages
// and announces each (or VANISHED under QRESYNC) before the tagged OK.
import { resolveUidSet } from '../../protocol/imap/sequence.ts';
import { seqSet } from '../args.ts';
import type { Handler } from '../commands.ts';
import type { ImapSession } from '../session.ts';

async function run(s: ImapSession, only: Set<number> | null) {
  const sel = s.selected!;
  if (sel.readOnly) return { status: 'NO' as const, code: 'READ-ONLY', text: 'Mailbox is read-only' };
  const msgs = (await s.mail.mailboxRecords(sel.mailbox)) ?? [];
  const del = msgs
    .filter((m) => m.flags.includes('\\Deleted') && sel.seqOf(m.uid) && (!only || only.has(m.uid)))
    .map((m) => m.uid);
  if (del.length) {
    const r = await s.mail.expunge(sel.mailbox, del);
    sel.ownModseqs.add(r.modseq);
    s.push(sel.removeUids(r.uids, s.qresync));
    return {
      status: 'OK' as const,
      code: s.condstore ? `HIGHESTMODSEQ ${r.modseq}` : undefined,
      text: 'EXPUNGE completed',
    };
  }
  return undefined;
}

export const expunge: Handler = (s) => run(s, null);

export const uidExpunge: Handler = async (s, cmd) => {
  const set = seqSet(cmd.args[0]);
  const sel = s.selected!;
  const uids = set.saved ? s.saved : resolveUidSet(set.ranges, sel.uids).map((i) => sel.uids[i]);
  return run(s, new Set(uids));
};
