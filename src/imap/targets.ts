// Which messages a command's set names: sequence numbers or UIDs (RFC 9051 section 6.4.8), or `$`
// (RFC 5182), resolved against the session's map. Returns UIDs in ascending order.
import { resolveSeqSet, resolveUidSet } from '../protocol/imap/sequence.ts';
import type { ImapValue } from '../protocol/imap/types.ts';
import { ArgError, seqSet } from './args.ts';
import type { ImapSession } from './session.ts';

export function targetUids(s: ImapSession, v: ImapValue | undefined, byUid: boolean): number[] {
  const sel = s.selected!;
  const set = seqSet(v);
  if (set.saved) {
    const have = new Set(sel.uids);
    return s.saved.filter((u) => have.has(u));
  }
  if (byUid) return resolveUidSet(set.ranges, sel.uids).map((i) => sel.uids[i]);
  const seqs = resolveSeqSet(set.ranges, sel.uids.length);
  if (!seqs) throw new ArgError('invalid message sequence number');
  return seqs.map((n) => sel.uids[n - 1]);
}
