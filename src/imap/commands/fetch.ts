// FETCH and UID FETCH (RFC 9051 section 6.4.5) with CONDSTORE CHANGEDSINCE (RFC 7162 section 3.1.4)
// and QRESYNC VANISHED (RFC 7162 section 3.2.6). Non-PEEK body sections set \Seen (read-write only).
import type { MessageRecord } from '../../core/model.ts';
import type { StoredBody } from '../../core/ports.ts';
import type { MessageSource } from '../../mailbox/content.ts';
import type { MailService } from '../../mailbox/service.ts';
import { type FetchItem, parseFetchItems } from '../../protocol/imap/fetch-items.ts';
import { formatSet, parseSequenceSet, setContains } from '../../protocol/imap/sequence.ts';
import { ArgError, atom, list, number } from '../args.ts';
import type { Handler } from '../commands.ts';
import { needs, renderMessage, UnknownCteError } from '../fetch/render.ts';
import { targetUids } from '../targets.ts';

/** Records for ascending UIDs: one range scan when the set is large, an IN list when it is small. */
export async function loadRecords(
  mail: MailService,
  mailboxId: number,
  uids: number[],
  changedSince?: number,
): Promise<MessageRecord[]> {
  if (uids.length === 0) return [];
  if (uids.length <= 500) return mail.store.listMessages(mailboxId, { uids, changedSince });
  const lo = uids[0];
  const hi = uids[uids.length - 1];
  const all = await mail.store.listMessages(mailboxId, { fromUid: lo, toUid: hi, changedSince });
  if (all.length <= uids.length) {
    // Every row is wanted unless the map has gaps the rows fill (rows the session does not know yet).
    const want = new Set(uids);
    return all.length === uids.length && all.every((m, i) => m.uid === uids[i])
      ? all
      : all.filter((m) => want.has(m.uid));
  }
  const want = new Set(uids);
  return all.filter((m) => want.has(m.uid));
}

export const fetch: Handler = async (s, cmd) => {
  const sel = s.selected!;
  const byUid = cmd.name === 'UID FETCH';
  if (cmd.args.length < 2 || cmd.args.length > 3) throw new ArgError('FETCH takes a set, data items and modifiers');
  const parsed = parseFetchItems(cmd.args[1]);
  if ('error' in parsed) throw new ArgError(parsed.error);
  let items: FetchItem[] = parsed.items;
  let changedSince: number | undefined;
  let vanished = false;
  if (cmd.args[2]) {
    const mods = list(cmd.args[2], 'fetch modifiers');
    for (let i = 0; i < mods.length; i++) {
      const m = atom(mods[i], 'a fetch modifier').toUpperCase();
      if (m === 'CHANGEDSINCE') changedSince = number(mods[++i], 'a MODSEQ');
      else if (m === 'VANISHED') vanished = true;
      else throw new ArgError(`unknown fetch modifier ${m.slice(0, 20)}`);
    }
  }
  if (vanished && (!byUid || !s.qresync || changedSince === undefined))
    throw new ArgError('VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE');
  if (byUid && !items.some((i) => i.kind === 'simple' && i.name === 'UID'))
    items = [{ kind: 'simple', name: 'UID' }, ...items];
  if (changedSince !== undefined && !items.some((i) => i.kind === 'simple' && i.name === 'MODSEQ'))
    items = [...items, { kind: 'simple', name: 'MODSEQ' }];
  if (changedSince !== undefined || items.some((i) => i.kind === 'simple' && i.name === 'MODSEQ')) s.condstore = true;
  const uids = targetUids(s, cmd.args[0], byUid);

  if (vanished) {
    const set = parseSequenceSet((cmd.args[0] as { value: string }).value);
    const { uids: gone } = await s.mail.store.expungedSince(sel.mailbox.id, changedSince!);
    const inSet = set && !set.saved ? gone.filter((u) => setContains(set.ranges, u, sel.maxUid)) : gone;
    if (inSet.length) s.push(`* VANISHED (EARLIER) ${formatSet(inSet)}\r\n`);
  }

  const records = await loadRecords(s.mail, sel.mailbox.id, uids, changedSince);
  // Implicit \Seen (RFC 9051 section 6.4.5: BODY[] and friends without .PEEK).
  const seenChanged = new Set<number>();
  if (!sel.readOnly && items.some((i) => i.kind === 'section' && !i.peek)) {
    const unseen = records.filter((r) => !r.flags.includes('\\Seen')).map((r) => r.uid);
    if (unseen.length) {
      const r = await s.mail.updateFlags(sel.mailbox, unseen, 'add', ['\\Seen']);
      if (r.updated.length) sel.ownModseqs.add(r.modseq);
      const byUidMap = new Map(r.updated.map((u) => [u.uid, u]));
      for (const rec of records) {
        const u = byUidMap.get(rec.uid);
        if (u) {
          rec.flags = u.flags;
          rec.modseq = u.modseq;
          seenChanged.add(rec.uid);
        }
      }
    }
  }
  const need = needs(items);
  let bodies: Map<number, StoredBody> | null = null;
  for (let i = 0; i < records.length; i++) {
    const rec = records[i];
    const seq = sel.seqOf(rec.uid);
    if (!seq) continue;
    if (need.body && !bodies?.has(rec.bodyId)) {
      // Bodies in batches, so a whole-mailbox ENVELOPE fetch never holds every parse at once.
      const batch = records.slice(i, i + 500).map((r) => r.bodyId);
      bodies = await s.mail.bodiesFor(batch);
    }
    let src: MessageSource | null = null;
    try {
      await renderMessage(
        {
          s,
          seq,
          rec,
          body: bodies?.get(rec.bodyId),
          source: async () => {
            src ??= await s.mail.source(rec);
            return src;
          },
          addFlags: seenChanged.has(rec.uid),
        },
        items,
      );
    } catch (e) {
      if (e instanceof UnknownCteError) return { status: 'NO', code: 'UNKNOWN-CTE', text: 'Cannot decode this part' };
      throw e;
    }
    await s.maybeFlush();
  }
  // Some named messages were expunged by another session and are not announced yet (RFC 9051 7.1).
  if (changedSince === undefined && records.length < uids.length)
    return { status: 'NO', code: 'EXPUNGEISSUED', text: 'Some of the requested messages no longer exist' };
  return { status: 'OK', text: `${cmd.name} completed` };
};
