// APPEND (RFC 9051 section 6.3.12) with MULTIAPPEND (RFC 3502: all or nothing), UIDPLUS APPENDUID
// (RFC 4315), APPENDLIMIT (RFC 7889: NO [TOOBIG]), UTF8=ACCEPT's `UTF8 (literal8)` (RFC 6855 section 4),
// CATENATE (RFC 4469: a message built from TEXT literals and URLs of messages or parts already here,
// NO [BADURL url] when a URL names nothing), and quota enforcement (RFC 9208: NO [OVERQUOTA]).
import type { Ingested } from '../../mailbox/content.ts';
import { parseDateTime } from '../../protocol/imap/encode.ts';
import { formatSet } from '../../protocol/imap/sequence.ts';
import type { ImapValue } from '../../protocol/imap/types.ts';
import { ArgError, flagList, mailboxArg, text } from '../args.ts';
import type { Handler } from '../commands.ts';
import { locateMessageUrl, parseMessageUrl, type UrlData } from '../imap-url.ts';

/** One part of a CATENATE: literal text, or the URL of data already on the server. */
type CatPart = { text: Buffer } | { url: string };

interface Item {
  flags: string[];
  internalDate: number | undefined;
  /** The message, or (CATENATE) the parts it is built from. */
  data: Buffer | CatPart[];
}

/**
 * RFC 4469 section 5: `"CATENATE" SP "(" cat-part *(SP cat-part) ")"`, cat-part = TEXT literal / URL
 * astring, or (RFC 6855) UTF8 (literal8).
 */
function catParts(v: ImapValue | undefined): CatPart[] {
  if (v?.type !== 'list' || v.items.length === 0 || v.items.length % 2)
    throw new ArgError('CATENATE takes a list of parts');
  const parts: CatPart[] = [];
  for (let i = 0; i < v.items.length; i += 2) {
    const kind = v.items[i];
    const value = v.items[i + 1];
    const name = kind.type === 'atom' ? kind.value.toUpperCase() : '';
    if (name === 'TEXT') {
      if (value.type !== 'string' || !value.literal) throw new ArgError('TEXT takes a literal');
      parts.push({ text: value.value });
    } else if (name === 'UTF8') {
      // RFC 6855 section 4: cat-part =/ "UTF8" SP "(" literal8 ")".
      const inner = value.type === 'list' && value.items.length === 1 ? value.items[0] : undefined;
      if (inner?.type !== 'string' || !inner.literal) throw new ArgError('UTF8 takes one literal8');
      parts.push({ text: inner.value });
    } else if (name === 'URL') parts.push({ url: text(value, 'a URL') });
    else throw new ArgError('expected TEXT, UTF8 or URL');
  }
  return parts;
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
    if (msg?.type === 'atom' && msg.value.toUpperCase() === 'CATENATE') {
      items.push({ flags, internalDate, data: catParts(args[i++]) });
      continue;
    }
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
  // CATENATE: every URL located (as UID FETCH BODY.PEEK[section]<partial> would read it) and every
  // message weighed before any URL data is read or anything stored; one URL that names nothing fails the
  // whole command, MULTIAPPEND's other messages included (RFC 3502: all or nothing).
  // URL data counts toward the same bound as the literals the reader holds: twice APPENDLIMIT for the
  // whole command, so a few KB of URLs cannot make the server build gigabytes (RFC 7889 [TOOBIG]). The
  // headers read to filter HEADER.FIELDS sections count too: each URL scanned its message's whole header,
  // and a few hundred of them naming a message with a large header took minutes of CPU for a small result.
  const tooBig = { status: 'NO', code: 'TOOBIG', text: 'Message too large' } as const;
  const commandMax = 2 * s.ctx.appendLimit;
  const plans: (Buffer | (Buffer | UrlData)[])[] = [];
  let total = 0;
  let scanned = 0;
  for (const it of items) {
    const parts: (Buffer | UrlData)[] = [];
    let size = 0;
    for (const part of Buffer.isBuffer(it.data) ? [{ text: it.data }] : it.data) {
      let data: Buffer | UrlData | null;
      if ('text' in part) data = part.text;
      else {
        const url = parseMessageUrl(part.url);
        data = url && s.account ? await locateMessageUrl(s.mail, s.account, url) : null;
        // url-resp-text: any TEXT-CHAR but "]" (RFC 4469 section 5 with erratum 2002).
        if (!data)
          return {
            status: 'NO',
            code: `BADURL ${part.url.replace(/[\]\x00-\x1f\x7f]/g, '')}`,
            text: 'CATENATE: no such message or part',
          };
      }
      const n = Buffer.isBuffer(data) ? data.length : data.size;
      size += n;
      total += n;
      if (!Buffer.isBuffer(data)) scanned += data.scanned;
      if (size > s.ctx.appendLimit) return tooBig;
      if (total + scanned > commandMax)
        return { status: 'NO', code: 'TOOBIG', text: `APPEND's messages are over ${commandMax} octets in all` };
      parts.push(data);
    }
    if (size === 0) return { status: 'NO', text: 'Empty message' };
    plans.push(Buffer.isBuffer(it.data) ? it.data : parts);
  }
  await s.mail.checkQuota(s.accountId, total, items.length);
  // Each message is built and stored as a blob in turn, so only one built message is held at a time.
  const contents: Ingested[] = [];
  for (const plan of plans) {
    if (Buffer.isBuffer(plan)) {
      contents.push(await s.mail.ingest(plan));
      continue;
    }
    const chunks: Buffer[] = [];
    for (const p of plan) chunks.push(Buffer.isBuffer(p) ? p : await p.read());
    contents.push(await s.mail.ingest(Buffer.concat(chunks)));
  }
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
