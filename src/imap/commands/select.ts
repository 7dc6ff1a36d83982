// SELECT and EXAMINE (RFC 9051 sections 6.3.2 and 6.3.3), with CONDSTORE (RFC 7162 section 3.1.8) and
// QRESYNC (RFC 7162 section 3.2.5: VANISHED (EARLIER) and changed flags since the client's MODSEQ).
import { mailboxName } from '../../protocol/imap/encode.ts';
import { formatSet, parseSequenceSet, type SeqRange, STAR, setMembership } from '../../protocol/imap/sequence.ts';
import type { ImapValue } from '../../protocol/imap/types.ts';
import { ArgError, atom, list, mailboxArg, number } from '../args.ts';
import type { Handler } from '../commands.ts';
import { mailboxObjectId } from '../mailboxes.ts';
import { Selected } from '../selected.ts';

interface QresyncParams {
  uidValidity: number;
  modseq: number;
  /** The client's known UIDs (no `*`), or null for all. */
  knownUids: SeqRange[] | null;
}

/** A known-uids, known-sequence-set or known-uid-set: a sequence set without `*` (or `$`). */
function knownSet(v: ImapValue | undefined, what: string): SeqRange[] {
  const set = v?.type === 'atom' ? parseSequenceSet(v.value) : null;
  if (!set || set.saved || set.ranges.some((r) => r.from === STAR || r.to === STAR))
    throw new ArgError(`invalid QRESYNC ${what}`);
  return set.ranges;
}

/**
 * RFC 7162 section 3.2.5: "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")",
 * seq-match-data = "(" known-sequence-set SP known-uid-set ")" (section 7). Every part is checked before
 * the mailbox is opened: one that is not valid is BAD. The sequence match data is only checked: it may
 * narrow VANISHED (EARLIER), and we keep every expunge's UID, so we never need it.
 */
function qresyncParams(q: ImapValue[]): QresyncParams {
  if (q.length < 2 || q.length > 4) throw new ArgError('QRESYNC takes UIDVALIDITY, MODSEQ, known UIDs, match data');
  const params: QresyncParams = {
    uidValidity: number(q[0], 'a UIDVALIDITY', 0xffffffff),
    modseq: number(q[1], 'a MODSEQ'),
    knownUids: null,
  };
  let i = 2;
  if (q[i]?.type === 'atom') params.knownUids = knownSet(q[i++], 'known-uids');
  if (i < q.length) {
    const match = list(q[i++], 'QRESYNC sequence match data');
    if (match.length !== 2) throw new ArgError('QRESYNC sequence match data takes two sets');
    knownSet(match[0], 'known-sequence-set');
    knownSet(match[1], 'known-uid-set');
  }
  if (i < q.length) throw new ArgError('too many QRESYNC parameters');
  return params;
}

export const select: Handler = async (s, cmd) => {
  const readOnly = cmd.name === 'EXAMINE';
  const name = mailboxArg(cmd.args[0], s.utf8);
  let qresync: QresyncParams | null = null;
  if (cmd.args.length > 1) {
    const params = list(cmd.args[1], 'select parameters');
    for (let i = 0; i < params.length; i++) {
      const p = atom(params[i], 'a select parameter').toUpperCase();
      if (p === 'CONDSTORE') s.condstore = true;
      else if (p === 'QRESYNC') {
        if (!s.qresync) return { status: 'BAD', text: 'ENABLE QRESYNC first' };
        qresync = qresyncParams(list(params[++i], 'QRESYNC parameters'));
      } else throw new ArgError(`unknown select parameter ${p.slice(0, 20)}`);
    }
  }
  if (s.selected) {
    s.selected = null;
    s.state = 'auth';
    s.push('* OK [CLOSED] Previous mailbox closed\r\n');
  }
  s.saved = [];
  const mb = await s.mail.store.getMailbox(s.accountId, name);
  if (!mb) return { status: 'NO', code: 'NONEXISTENT', text: 'No such mailbox' };
  const [uids, firstRecent] = await Promise.all([
    s.mail.store.listUids(mb.id),
    // \Recent is IMAP4rev1's (RFC 9051 dropped it). SELECT takes what no session has taken yet; EXAMINE
    // reports it without taking it (RFC 3501 sections 2.3.2 and 6.3.2). The claim is a write: only when
    // some message is not yet claimed by any session.
    s.rev2 || readOnly || mb.recentUid >= mb.uidNext ? Promise.resolve(mb.recentUid) : s.mail.store.claimRecent(mb.id),
  ]);
  const sel = new Selected(mb, readOnly, uids, s.rev2 ? null : { firstUid: firstRecent, claimed: !readOnly });
  // The mailbox row may be older than the UID list: take counters that match what we listed.
  s.push(sel.flagsLine());
  s.push(sel.permanentFlagsLine());
  s.push(`* ${uids.length} EXISTS\r\n`);
  if (!s.rev2) {
    s.push(`* ${sel.recent.size} RECENT\r\n`);
    const unseen = await s.mail.store.firstUnseenUid(mb.id);
    const seq = unseen === null ? 0 : sel.seqOf(unseen);
    if (seq) s.push(`* OK [UNSEEN ${seq}] First unseen\r\n`);
  }
  s.push(`* OK [UIDVALIDITY ${mb.uidValidity}] UIDs valid\r\n`);
  s.push(`* OK [UIDNEXT ${mb.uidNext}] Predicted next UID\r\n`);
  s.push(`* OK [HIGHESTMODSEQ ${mb.modseq}] Highest\r\n`);
  s.push(`* OK [MAILBOXID (${mailboxObjectId(mb)})] Ok\r\n`);
  if (s.rev2) s.push(`* LIST () "/" ${mailboxName(mb.name, s.utf8)}\r\n`);
  s.selected = sel;
  s.state = 'selected';
  sel.dirty = true; // catch anything that arrived between the row read and the UID list
  if (qresync && qresync.uidValidity === mb.uidValidity) {
    const known = qresync.knownUids;
    const { uids: gone } = await s.mail.store.expungedSince(mb.id, qresync.modseq);
    // Made once: asking the ranges for each UID cost ranges x UIDs. Known UIDs hold no "*" (qresyncParams).
    const isKnown = known ? setMembership(known, 0) : () => true;
    const vanished = gone.filter(isKnown);
    if (vanished.length) s.push(`* VANISHED (EARLIER) ${formatSet(vanished)}\r\n`);
    const changed = await s.mail.store.listMessages(mb.id, { changedSince: qresync.modseq });
    for (const m of changed) {
      const seq = sel.seqOf(m.uid);
      if (!seq) continue;
      if (!isKnown(m.uid)) continue;
      s.push(`* ${seq} FETCH (UID ${m.uid} FLAGS (${sel.flagsWithRecent(m.uid, m.flags)}) MODSEQ (${m.modseq}))\r\n`);
      await s.maybeFlush();
    }
  }
  return { status: 'OK', code: readOnly ? 'READ-ONLY' : 'READ-WRITE', text: `${cmd.name} completed` };
};
