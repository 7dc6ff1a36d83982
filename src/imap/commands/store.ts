// STORE (RFC 9051 section 6.4.6) with .SILENT, and CONDSTORE UNCHANGEDSINCE (RFC 7162 section 3.1.3:
// refused messages are reported in [MODIFIED set]). Untagged FETCH reports the new flags.
import { formatSet } from '../../protocol/imap/sequence.ts';
import { ArgError, atom, flagList, list, number } from '../args.ts';
import type { Handler } from '../commands.ts';
import { targetUids } from '../targets.ts';

export const store: Handler = async (s, cmd) => {
  const sel = s.selected!;
  const byUid = cmd.name === 'UID STORE';
  const args = [...cmd.args];
  const uids = targetUids(s, args.shift(), byUid);
  let unchangedSince: number | undefined;
  if (args[0]?.type === 'list') {
    const mods = list(args.shift(), 'store modifiers');
    if (mods.length !== 2 || atom(mods[0], 'UNCHANGEDSINCE').toUpperCase() !== 'UNCHANGEDSINCE')
      throw new ArgError('unknown STORE modifier');
    unchangedSince = number(mods[1], 'a MODSEQ');
  }
  const item = atom(args.shift(), 'a STORE data item').toUpperCase();
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item);
  if (!m) throw new ArgError('STORE data item must be FLAGS, +FLAGS or -FLAGS');
  if (args.length === 0) throw new ArgError('STORE needs flags');
  const flags = args.length === 1 ? flagList(args[0]) : flagList({ type: 'list', items: args });
  if (unchangedSince !== undefined) s.enableCondstore();
  if (sel.readOnly) return { status: 'NO', code: 'READ-ONLY', text: 'Mailbox is read-only' };
  const op = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'set';
  const silent = m[2] !== undefined;
  if (uids.length === 0) return { status: 'OK', text: 'STORE completed' };
  const r = await s.mail.updateFlags(sel.mailbox, uids, op, flags, unchangedSince);
  if (r.updated.length) sel.ownModseqs.add(r.modseq);
  // New keywords are announced before the FETCH responses that carry them (RFC 9051 section 7.3.5).
  const known = new Set(sel.keywords.map((k) => k.toLowerCase()));
  const fresh = op === 'remove' ? [] : flags.filter((k) => !k.startsWith('\\') && !known.has(k.toLowerCase()));
  if (fresh.length && r.updated.length) {
    sel.keywords.push(...fresh);
    s.push(sel.flagsLine());
    s.push(sel.permanentFlagsLine());
  }
  // Non-silent: every message of the set gets its flags (RFC 9051 section 6.4.6); silent under CONDSTORE:
  // the changed ones still get their MODSEQ (RFC 7162 section 3.1.3).
  // When every message changed, the update already says its flags; otherwise read the set back.
  const show = silent
    ? []
    : r.updated.length === uids.length
      ? r.updated.map((u) => ({ uid: u.uid, flags: u.flags, modseq: u.modseq }))
      : await s.mail.store.listMessages(sel.mailbox.id, { uids });
  const changed = new Map(r.updated.map((u) => [u.uid, u]));
  const modified = new Set(r.modified);
  const idOf = (uid: number) => (byUid || s.qresync ? `UID ${uid} ` : '');
  if (!silent) {
    for (const msg of show) {
      if (modified.has(msg.uid)) continue;
      const seq = sel.seqOf(msg.uid);
      if (!seq) continue;
      const modseq = s.condstore ? ` MODSEQ (${msg.modseq})` : '';
      s.push(`* ${seq} FETCH (${idOf(msg.uid)}FLAGS (${sel.flagsWithRecent(msg.uid, msg.flags)})${modseq})\r\n`);
      await s.maybeFlush();
    }
  } else if (s.condstore)
    for (const [uid, u] of changed) {
      const seq = sel.seqOf(uid);
      if (seq) s.push(`* ${seq} FETCH (${idOf(uid)}MODSEQ (${u.modseq}))\r\n`);
    }
  if (r.modified.length) {
    const set = byUid ? r.modified : r.modified.map((u) => sel.seqOf(u)).filter((n) => n > 0);
    return { status: 'OK', code: `MODIFIED ${formatSet(set.sort((a, b) => a - b))}`, text: 'Conditional STORE failed' };
  }
  return { status: 'OK', text: 'STORE completed' };
};
