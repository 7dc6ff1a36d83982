// APPEND (RFC 9051 section 6.3.12) with MULTIAPPEND (RFC 3502: all or nothing), UIDPLUS APPENDUID
// (RFC 4315), APPENDLIMIT (RFC 7889: NO [TOOBIG]), UTF8=ACCEPT's `UTF8 (literal8)` (RFC 6855 section 4),
// and quota enforcement (RFC 9208: NO [OVERQUOTA]).
import type { Ingested } from '../../mailbox/content.ts';
import { parseDateTime } from '../../protocol/imap/encode.ts';
import { formatSet } from '../../protocol/imap/sequence.ts';
import type { ImapValue } from '../../protocol/imap/types.ts';
import { ArgError, flagList, mailboxArg } from '../args.ts';
import type { Handler } from '../commands.ts';

interface Item {
  flags: string[];
  internalDate: number | undefined;
  data: Buffer;
}

function parseItems(args: ImapValue[]): Item[] {
  const items: Item[] = [];
  let i = 0;
  while (i < args.length) {
    let flags: string[] = [];
    let internalDate: number | undefined;
    if (args[i]?.type === 'list') flags = flagList(args[i++]);
    const d = args[i];
    if (d?.type === 'string' && !d.literal) {
      const t = parseDateTime(d.value.toString('latin1'));
      if (t === null) throw new ArgError('invalid date-time');
      internalDate = t;
      i++;
    }
    let msg = args[i++];
    if (msg?.type === 'atom' && msg.value.toUpperCase() === 'UTF8') {
      const wrapped = args[i++];
      if (wrapped?.type !== 'list' || wrapped.items.length !== 1) throw new ArgError('UTF8 takes one literal8');
      msg = wrapped.items[0];
    }
    if (msg?.type !== 'string' || !msg.literal) throw new ArgError('expected the message as a literal');
    items.push({ flags, internalDate, data: msg.value });
  }
  if (items.length === 0) throw new ArgError('APPEND needs a message');
  return items;
}

export const append: Handler = async (s, cmd) => {
  const name = mailboxArg(cmd.args[0], s.utf8);
  const items = parseItems(cmd.args.slice(1));
  const mb = await s.mail.store.getMailbox(s.accountId, name);
  if (!mb) return { status: 'NO', code: 'TRYCREATE', text: 'No such mailbox' };
  let total = 0;
  for (const it of items) {
    if (it.data.length === 0) return { status: 'NO', text: 'Empty message' };
    if (it.data.length > s.ctx.appendLimit) return { status: 'NO', code: 'TOOBIG', text: 'Message too large' };
    total += it.data.length;
  }
  await s.mail.checkQuota(s.accountId, total, items.length);
  const contents: Ingested[] = [];
  for (const it of items) contents.push(await s.mail.ingest(it.data));
  const results = await s.mail.appendIngested(
    items.map((it, i) => ({
      accountId: s.accountId,
      mailboxId: mb.id,
      content: contents[i],
      flags: it.flags,
      internalDate: it.internalDate,
    })),
  );
  if (s.selected?.mailbox.id === mb.id) s.selected.dirty = true;
  const uids = results.map((r) => r.uid);
  // A client filing mail into Junk by APPEND (across accounts, or clients that move so) is a judgement too.
  s.mail.filed({ kind: 'append', src: null, dst: mb, uids });
  return {
    status: 'OK',
    code: `APPENDUID ${results[0].uidValidity} ${formatSet(uids)}`,
    text: 'APPEND completed',
  };
};
