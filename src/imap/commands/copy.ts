// COPY (RFC 9051 section 6.4.7) and MOVE (RFC 6851), by sequence number or UID, with COPYUID
// (RFC 4315). MOVE sends COPYUID untagged, then EXPUNGE (or VANISHED) for the moved messages.
import { formatSet } from '../../protocol/imap/sequence.ts';
import type { ImapCommand } from '../../protocol/imap/types.ts';
import { ArgError, mailboxArg } from '../args.ts';
import type { Handler } from '../commands.ts';
import type { ImapSession } from '../session.ts';
import { targetUids } from '../targets.ts';

async function run(s: ImapSession, cmd: ImapCommand, move: boolean) {
  if (cmd.args.length !== 2) throw new ArgError(`${cmd.name} takes a set and a mailbox`);
  const sel = s.selected!;
  const uids = targetUids(s, cmd.args[0], cmd.name.startsWith('UID '));
  const dstName = mailboxArg(cmd.args[1], s.utf8);
  const dst = await s.mail.store.getMailbox(s.accountId, dstName);
  if (!dst) return { status: 'NO' as const, code: 'TRYCREATE', text: 'No such mailbox' };
  if (move && sel.readOnly) return { status: 'NO' as const, code: 'READ-ONLY', text: 'Mailbox is read-only' };
  if (uids.length === 0) return { status: 'OK' as const, text: `${cmd.name} completed` };
  const r = move ? await s.mail.move(sel.mailbox, uids, dst) : await s.mail.copy(sel.mailbox, uids, dst);
  if (dst.id === sel.mailbox.id) sel.dirty = true;
  if (move) sel.ownModseqs.add(r.modseq);
  const code = r.pairs.length
    ? `COPYUID ${r.uidValidity} ${formatSet(r.pairs.map((p) => p[0]))} ${formatSet(r.pairs.map((p) => p[1]))}`
    : undefined;
  if (!move) return { status: 'OK' as const, code, text: 'COPY completed' };
  if (code) s.push(`* OK [${code}] Moved\r\n`);
  s.push(
    sel.removeUids(
      r.pairs.map((p) => p[0]),
      s.qresync,
    ),
  );
  // RFC 6851 section 4.4: the mod-sequence of the moved messages' removal goes in HIGHESTMODSEQ, as for
  // EXPUNGE (RFC 7162 section 3.2.7).
  const highest = s.condstore && r.pairs.length ? `HIGHESTMODSEQ ${r.modseq}` : undefined;
  return { status: 'OK' as const, code: highest, text: 'MOVE completed' };
}

export const copy: Handler = (s, cmd) => run(s, cmd, false);
export const move: Handler = (s, cmd) => run(s, cmd, true);
