// FETCH and UID FETCH (RFC 9051 section 6.4.5) with CONDSTORE CHANGEDSINCE (RFC 7162 section 3.1.4),
// QRESYNC VANISHED (RFC 7162 section 3.2.6) and PARTIAL (RFC 9394 section 3.3, UID FETCH only). Non-PEEK
// body sections set \Seen (read-write only).
import type { Mailbox, MessageRecord } from '../../core/model.ts';
import type { StoredBody } from '../../core/ports.ts';
import type { MessageSource } from '../../mailbox/content.ts';
import type { MailService } from '../../mailbox/service.ts';
import { type FetchItem, parseFetchItems } from '../../protocol/imap/fetch-items.ts';
import { type PartialRange, parsePartialRange, partialPage } from '../../protocol/imap/partial.ts';
import { formatSet, parseSequenceSet, setMembership } from '../../protocol/imap/sequence.ts';
import type { ImapValue } from '../../protocol/imap/types.ts';
import { ArgError, atom, list, number } from '../args.ts';
import type { Handler, Reply } from '../commands.ts';
import {
  decodesParts,
  needs,
  type RenderContext,
  renderedFromCache,
  renderMessage,
  renderSimple,
  UnknownCteError,
  undecodable,
} from '../fetch/render.ts';
import type { Selected } from '../selected.ts';
import { targetUids } from '../targets.ts';

/**
 * Records for ascending UIDs. Without CHANGEDSINCE they come from the mailbox's record index (kept exact
 * by MODSEQ deltas); UIDs the store no longer has are simply missing. Shared records: never mutate.
 */
export async function loadRecords(
  mail: MailService,
  mailbox: Mailbox,
  uids: number[],
  changedSince?: number,
): Promise<MessageRecord[]> {
  if (uids.length === 0) return [];
  if (changedSince !== undefined) {
    if (uids.length <= 500) return mail.store.listMessages(mailbox.id, { uids, changedSince });
    const want = new Set(uids);
    const rows = await mail.store.listMessages(mailbox.id, {
      fromUid: uids[0],
      toUid: uids[uids.length - 1],
      changedSince,
    });
    return rows.filter((m) => want.has(m.uid));
  }
  const all = (await mail.mailboxRecords(mailbox)) ?? [];
  // Both ascending: walk them together, starting where the first UID would be.
  let a = 0;
  let b = all.length;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (all[mid].uid < uids[0]) a = mid + 1;
    else b = mid;
  }
  const out: MessageRecord[] = [];
  for (let i = 0; a < all.length && i < uids.length; ) {
    const u = all[a].uid;
    if (u === uids[i]) {
      out.push(all[a]);
      a++;
      i++;
    } else if (u < uids[i]) a++;
    else i++;
  }
  return out;
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
  let partial: PartialRange | null = null;
  if (cmd.args[2]) {
    const mods = list(cmd.args[2], 'fetch modifiers');
    for (let i = 0; i < mods.length; i++) {
      const m = atom(mods[i], 'a fetch modifier').toUpperCase();
      if (m === 'CHANGEDSINCE') changedSince = number(mods[++i], 'a MODSEQ');
      else if (m === 'VANISHED') vanished = true;
      else if (m === 'PARTIAL' && !partial) partial = partialArg(mods[++i]);
      else throw new ArgError(`unknown fetch modifier ${m.slice(0, 20)}`);
    }
  }
  if (vanished && (!byUid || !s.qresync || changedSince === undefined))
    throw new ArgError('VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE');
  if (partial && !byUid) throw new ArgError('PARTIAL needs UID FETCH');
  if (byUid && !items.some((i) => i.kind === 'simple' && i.name === 'UID'))
    items = [{ kind: 'simple', name: 'UID' }, ...items];
  if (changedSince !== undefined && !items.some((i) => i.kind === 'simple' && i.name === 'MODSEQ'))
    items = [...items, { kind: 'simple', name: 'MODSEQ' }];
  let uids = targetUids(s, cmd.args[0], byUid);
  // RFC 9394 section 3.3: the page of the messages the UID set names, in UID order (-1:-3 the last three).
  // Taken before CHANGEDSINCE filters them: the page is of the set the client named, so paging stays
  // stable whatever changed.
  if (partial) uids = partialPage(partial, uids);
  if (changedSince !== undefined || items.some((i) => i.kind === 'simple' && i.name === 'MODSEQ')) s.enableCondstore();

  if (vanished) {
    const set = parseSequenceSet((cmd.args[0] as { value: string }).value);
    const { uids: gone } = await s.mail.store.expungedSince(sel.mailbox.id, changedSince!);
    const inSet = set && !set.saved ? gone.filter(setMembership(set.ranges, sel.maxUid)) : gone;
    if (inSet.length) s.push(`* VANISHED (EARLIER) ${formatSet(inSet)}\r\n`);
  }

  const records = await loadRecords(s.mail, sel.mailbox, uids, changedSince);
  // Implicit \Seen (RFC 9051 section 6.4.5: BODY[] and friends without .PEEK), set as the messages are
  // sent: a FETCH that fails part way leaves the messages it never returned as they were (as Dovecot).
  const implicitSeen = !sel.readOnly && items.some((i) => i.kind === 'section' && !i.peek);
  const seenChanged = new Set<number>();
  const need = needs(items);
  let bodies: Map<number, StoredBody> | null = null;
  if (!need.source && !implicitSeen) {
    // Fast path (FLAGS, UID, ENVELOPE, BODYSTRUCTURE...): no message bytes, no await per message.
    const ctx: RenderContext = {
      s,
      seq: 0,
      rec: records[0],
      body: undefined,
      source: async () => {
        throw new Error('no source');
      },
      addFlags: false,
    };
    const map = sel.uids;
    let j = 0;
    let text = '';
    for (let i = 0; i < records.length; i++) {
      const rec = records[i];
      while (j < map.length && map[j] < rec.uid) j++;
      if (map[j] !== rec.uid) continue;
      if (need.body && !bodies?.has(rec.bodyId) && !renderedFromCache(items, rec.bodyId, s.utf8)) {
        // Bodies in batches, only those whose strings are not cached yet.
        const ids: number[] = [];
        for (const r of records.slice(i, i + 500)) if (!renderedFromCache(items, r.bodyId, s.utf8)) ids.push(r.bodyId);
        bodies = await s.mail.bodiesFor(ids);
      }
      ctx.seq = j + 1;
      ctx.rec = rec;
      ctx.body = bodies?.get(rec.bodyId);
      text += renderSimple(ctx, items);
      if (text.length > 65536) {
        s.push(text);
        text = '';
        await s.maybeFlush();
      }
    }
    if (text) s.push(text);
    return finish(changedSince === undefined && records.length < uids.length, cmd.name);
  }
  // \Seen is set a batch at a time, ahead of rendering. A batch stops before the first message whose
  // BINARY part cannot be decoded (RFC 3516 section 4.3: NO [UNKNOWN-CTE]), where the FETCH will end.
  const checkCte = implicitSeen && decodesParts(items);
  const sources = new Map<number, MessageSource>();
  let seenUntil = 0;
  let seenModseq: number | null = null;
  for (let i = 0; i < records.length; i++) {
    let rec = records[i];
    const seq = sel.seqOf(rec.uid);
    if (!seq) continue;
    if (implicitSeen && i >= seenUntil) {
      let end = Math.min(records.length, i + SEEN_BATCH);
      if (checkCte)
        for (let j = i; j < end; j++) {
          const src = await s.mail.source(records[j]);
          if (undecodable(src.root, items) !== null) {
            end = j;
            break;
          }
          sources.set(records[j].uid, src);
        }
      seenModseq = await markSeen(s.mail, sel, records, i, end, seenChanged);
      seenUntil = end;
      rec = records[i];
    }
    if (need.body && !bodies?.has(rec.bodyId)) {
      // Bodies in batches, so a whole-mailbox ENVELOPE fetch never holds every parse at once.
      const batch = records.slice(i, i + 500).map((r) => r.bodyId);
      bodies = await s.mail.bodiesFor(batch);
    }
    let src: MessageSource | null = sources.get(rec.uid) ?? null;
    sources.delete(rec.uid);
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
      // Messages of this batch may be \Seen without having been sent: the next update announces them.
      if (seenModseq !== null) sel.ownModseqs.delete(seenModseq);
      throw e;
    }
    await s.maybeFlush();
  }
  return finish(changedSince === undefined && records.length < uids.length, cmd.name);
};

/** Messages whose implicit \Seen is set in one store update. */
const SEEN_BATCH = 500;

/**
 * Adds \Seen to the unseen messages of records[from..to) that the session can see, replacing their
 * records (copies: records may be shared with the mailbox index). The update's MODSEQ, or null.
 */
async function markSeen(
  mail: MailService,
  sel: Selected,
  records: MessageRecord[],
  from: number,
  to: number,
  changed: Set<number>,
): Promise<number | null> {
  const unseen: number[] = [];
  for (let i = from; i < to; i++)
    if (!records[i].flags.includes('\\Seen') && sel.seqOf(records[i].uid)) unseen.push(records[i].uid);
  if (unseen.length === 0) return null;
  const r = await mail.updateFlags(sel.mailbox, unseen, 'add', ['\\Seen']);
  if (r.updated.length === 0) return null;
  sel.ownModseqs.add(r.modseq);
  const byUid = new Map(r.updated.map((u) => [u.uid, u]));
  for (let i = from; i < to; i++) {
    const u = byUid.get(records[i].uid);
    if (u) {
      records[i] = { ...records[i], flags: u.flags, modseq: u.modseq };
      changed.add(u.uid);
    }
  }
  return r.modseq;
}

/** Some named messages were expunged by another session and are not announced yet (RFC 9051 7.1). */
function finish(gone: boolean, name: string): Reply {
  if (gone) return { status: 'NO', code: 'EXPUNGEISSUED', text: 'Some of the requested messages no longer exist' };
  return { status: 'OK', text: `${name} completed` };
}

/** The range after the PARTIAL fetch modifier (RFC 9394 section 4). */
function partialArg(v: ImapValue | undefined): PartialRange {
  if (v?.type !== 'atom') throw new ArgError('PARTIAL needs a range such as 1:100 or -1:-100');
  const r = parsePartialRange(v.value);
  if (typeof r === 'string') throw new ArgError(r);
  return r;
}
