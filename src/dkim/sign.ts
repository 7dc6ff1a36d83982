// DKIM signing of outgoing mail (RFC 6376; ed25519-sha256 RFC 8463): one signature per key of the author's
// domain (an RSA and an Ed25519 key give two, as RFC 8463 advises), relaxed/relaxed. Signed here rather
// than by mailauth's signer, whose h= lists only the fields present: each field below is listed once more
// than it occurs ("oversigning", RFC 6376 sections 5.4.2 and 8.15), so a From, Subject, ... added on top of
// a signed message breaks the signature instead of being what the reader sees.
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { parseAddressList } from '../mime/address.ts';
import { getField, parseHeaderBlock } from '../mime/header.ts';
import type { DkimKey } from './keys.ts';

/**
 * The header fields signed: the RFC 6376 section 5.4.1 list that matters for display and threading.
 * always: listed once more than they occur even when absent, so none can be added (rspamd's "(o)");
 * the others once more than they occur when present (rspamd's "(x)"), so a second one cannot be added.
 */
const SIGNED_HEADERS: { name: string; always?: true }[] = [
  { name: 'From', always: true },
  { name: 'Sender' },
  { name: 'Reply-To', always: true },
  { name: 'Subject', always: true },
  { name: 'Date', always: true },
  { name: 'Message-ID', always: true },
  { name: 'To', always: true },
  { name: 'Cc', always: true },
  { name: 'MIME-Version' },
  { name: 'Content-Type' },
  { name: 'Content-Transfer-Encoding' },
  { name: 'Content-ID' },
  { name: 'Content-Description' },
  { name: 'In-Reply-To' },
  { name: 'References' },
  { name: 'List-Id' },
  { name: 'List-Unsubscribe' },
  { name: 'List-Unsubscribe-Post' },
  { name: 'Auto-Submitted' },
];

/**
 * Blanks ending a field name. The look-behind lets a try start only where a run starts: /[ \t]+$/ alone retries
 * from every blank of a long run that something else follows, quadratic in the name.
 */
const TRAILING_BLANKS = /(?<![ \t])[ \t]+$/;

/** Domain of the first From address (RFC 5322 section 3.6.2), lower case; null when there is none. */
export function authorDomain(raw: Buffer): string | null {
  const problems: string[] = [];
  const block = parseHeaderBlock(raw, 0, raw.length, { maxHeaderFields: 1000, maxHeaderLineLength: 100_000 }, problems);
  const from = getField(block.fields, 'from');
  if (!from) return null;
  const first = parseAddressList(from).find((a) => a.host);
  return first?.host ? first.host.toLowerCase() : null;
}

/** RFC 6376 section 3.4.2: a header field (folded, no final CRLF, as Latin-1 so no byte changes) relaxed. */
function relaxedHeader(field: string): string {
  const colon = field.indexOf(':');
  const name = field.slice(0, colon).replace(TRAILING_BLANKS, '').toLowerCase();
  const value = field
    .slice(colon + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
  return `${name}:${value}`;
}

/** RFC 6376 section 3.4.4: the body relaxed (CRLF lines): one SP per WSP run, none at line ends, no empty lines at the end. */
function relaxedBody(body: Buffer): Buffer {
  // Regular expressions that never backtrack over a run of blanks: a long one costs its length, once.
  let text = body
    .toString('latin1')
    .replace(/[ \t]{2,}|\t/g, ' ')
    .replaceAll(' \r\n', '\r\n');
  if (text.endsWith(' ')) text = text.slice(0, -1);
  let end = text.length;
  while (end >= 2 && text.charCodeAt(end - 2) === 13 && text.charCodeAt(end - 1) === 10) end -= 2;
  text = text.slice(0, end);
  return Buffer.from(text ? `${text}\r\n` : '', 'latin1');
}

/** "DKIM-Signature: " with the tags folded at 78 octets (FWS is allowed between tags and around h='s colons). */
function foldTags(pieces: string[]): string {
  let out = 'DKIM-Signature:';
  let line = out.length;
  let glue = ' ';
  for (const p of pieces) {
    if (line + glue.length + p.length > 78) {
      out += '\r\n ';
      line = 1;
    } else {
      out += glue;
      line += glue.length;
    }
    out += p;
    line += p.length;
    glue = p.endsWith(':') ? '' : ' ';
  }
  return out;
}

/**
 * Returns the message with DKIM-Signature fields prepended, one per key; the message unchanged when there
 * are no keys. Lines must end in CRLF (a bare CR or LF would be read differently by different verifiers).
 * Throws when the message has no From field or a key cannot sign.
 */
export async function signMessage(raw: Buffer, keys: DkimKey[], now = new Date()): Promise<Buffer> {
  if (keys.length === 0) return raw;
  // The header section ends at the first empty line; a message starting with one has no header fields.
  const noHeader = raw[0] === 13 && raw[1] === 10;
  const blank = noHeader ? 0 : raw.indexOf('\r\n\r\n');
  const headerEnd = blank < 0 ? raw.length : blank;
  const fields = raw
    .toString('latin1', 0, headerEnd)
    .split(/\r\n(?![ \t])/)
    .filter((f) => f.includes(':'));
  const byName = new Map<string, string[]>();
  for (const f of fields) {
    const name = f.slice(0, f.indexOf(':')).replace(TRAILING_BLANKS, '').toLowerCase();
    const same = byName.get(name);
    if (same) same.push(f);
    else byName.set(name, [f]);
  }
  if (!byName.has('from')) throw new Error('DKIM signing failed: the message has no From field');
  // h= and the fields it selects: a name listed n times takes its n last instances, bottom up, and a
  // name listed once more than it occurs selects nothing the last time (RFC 6376 section 5.4.2).
  const h: string[] = [];
  const signed: string[] = [];
  for (const { name, always } of SIGNED_HEADERS) {
    const present = byName.get(name.toLowerCase()) ?? [];
    if (present.length === 0 && !always) continue;
    for (let i = present.length - 1; i >= 0; i--) signed.push(`${relaxedHeader(present[i])}\r\n`);
    for (let i = 0; i <= present.length; i++) h.push(name);
  }
  const body = blank < 0 ? Buffer.alloc(0) : raw.subarray(blank + (noHeader ? 2 : 4));
  const bh = createHash('sha256').update(relaxedBody(body)).digest('base64');
  const t = Math.floor(now.getTime() / 1000);
  const sigs = keys.map((k) => {
    const algo = k.algorithm === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256';
    const prefix = foldTags([
      'v=1;',
      `a=${algo};`,
      'c=relaxed/relaxed;',
      `d=${k.domain};`,
      `s=${k.selector};`,
      `t=${t};`,
      ...h.map((n, i) => `${i === 0 ? 'h=' : ''}${n}${i === h.length - 1 ? ';' : ':'}`),
      `bh=${bh};`,
      'b=',
    ]);
    // RFC 6376 section 3.7: the signature covers the selected fields, then this one with b= empty, no CRLF.
    const data = Buffer.from(signed.join('') + relaxedHeader(prefix), 'latin1');
    const key = createPrivateKey(k.privateKey);
    // RFC 8463 section 3: Ed25519 signs the SHA-256 hash of that data.
    const b = (
      k.algorithm === 'ed25519'
        ? sign(null, createHash('sha256').update(data).digest(), key)
        : sign('sha256', data, key)
    ).toString('base64');
    const room = Math.max(78 - (prefix.length - prefix.lastIndexOf('\n') - 1), 8);
    const chunks = [b.slice(0, room), ...(b.slice(room).match(/.{1,76}/g) ?? [])];
    return `${prefix}${chunks.join('\r\n ')}\r\n`;
  });
  return Buffer.concat([Buffer.from(sigs.join(''), 'latin1'), raw]);
}
