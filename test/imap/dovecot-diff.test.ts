// Differential test against Dovecot: the same corpus messages appended to both servers must give the
// same BODYSTRUCTURE, BODY, ENVELOPE, RFC822.SIZE, every BODY[section] (HEADER, TEXT, MIME, HEADER.FIELDS,
// parts recursively) and BINARY/BINARY.SIZE, message by message. Where we differ on purpose, the
// difference is named below with the RFC text that allows it, counted, and reported.
// PETREL_IMAP_DIFF_ALL=1 runs all 6,046 messages; the default is a 300-message sample.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseMessage } from '../../src/mime/parse.ts';
import type { MimePart } from '../../src/mime/types.ts';
import { RawImap } from '../helpers/imap-client.ts';
import { type Dovecot, peer, startDovecot } from '../helpers/peers.ts';
import { appendAll, fetchOne, partsOf } from './diff-helpers.ts';
import { corpus, type ImapFixture, imapFixture } from './fixture.ts';

const COUNT = process.env.PETREL_IMAP_DIFF_ALL === '1' ? 100000 : Number(process.env.PETREL_IMAP_DIFF_COUNT ?? 300);

/**
 * Named differences. Each says when it applies (from the message or from Dovecot's answer) and why we
 * may answer otherwise.
 */
const DIFFERENCES = {
  'latin1-header':
    'Header bytes that are neither ASCII nor UTF-8 are invalid (RFC 5322 section 2.2, RFC 6532 section 3.1); we keep them as Latin-1 text and send them as UTF-8, Dovecot sends the raw bytes.',
  'no-mime-version':
    'Content-* fields without MIME-Version: RFC 2045 section 4 makes MIME-Version the marker of a MIME message; Dovecot then ignores them, we honour them (as RFC 2049 section 2 item 9 advises for robustness).',
  'malformed-address':
    'Address fields that are not RFC 5322 addresses: RFC 9051 section 7.5.2 says nothing of how to show them; Dovecot writes a SYNTAX_ERROR host, our parser salvages what it can.',
  'binary-whole-message':
    'BINARY[] of a whole MIME message: RFC 9051 section 6.4.5 defines BINARY for leaf parts only; Dovecot rewrites every part, we return a multipart message (or one in an encoding we do not decode) as stored.',
  'dovecot-binary-size':
    "Dovecot's BINARY.SIZE disagrees with the length of its own BINARY answer (a Dovecot bug); we compare our BINARY.SIZE with the length Dovecot actually sends.",
  'repeated-field':
    'An address or other envelope field given more than once: RFC 5322 section 3.6 allows each once; Dovecot joins the repeats, we take the first, as for every other field.',
  'dovecot-failed':
    'Dovecot closed the connection (its imap process failed) on this request; there is nothing to compare.',
  'invalid-encoding':
    'A part whose base64 or quoted-printable is broken: Dovecot refuses BINARY with NO [PARSE]; we decode leniently, skipping what is not in the alphabet (RFC 2045 section 6.8).',
  'close-delimiter-crlf':
    'The CRLF between an inner close delimiter and the next outer delimiter: RFC 2046 section 5.1.1 makes it part of the outer delimiter (so we end the inner part before it); Dovecot keeps it in the inner part.',
  'literal8-choice':
    "BINARY content as literal or literal8: RFC 3516 section 4.3 allows either; we send literal8 for decoded base64 and quoted-printable (as Dovecot does in a fresh session), Dovecot's later choice depends on its cache.",
  'lone-cr':
    'A CR not followed by LF: RFC 5322 section 2.3 forbids it; Dovecot counts such lines its own way in sizes, we count octets as stored.',
  'malformed-parameter':
    'A Content-Type or Content-Disposition parameter value with unquoted spaces: not an RFC 2045 token; Dovecot keeps the first word, we keep the whole value.',
  'close-delimiter-junk':
    'Text after a close delimiter on the same line: RFC 2046 section 5.1.1 allows only transport padding there; the parsers end the parts differently.',
  'boundary-prefix':
    'A nested multipart whose boundary begins with an enclosing boundary: RFC 2046 section 5.1.1 forbids it ("must not appear within the encapsulated material"); the parsers split such bodies differently.',
} as const;
type DifferenceName = keyof typeof DIFFERENCES;

function headerOf(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n');
  return raw.subarray(0, end < 0 ? raw.length : end);
}

function isLatin1Header(raw: Buffer): boolean {
  const h = headerOf(raw);
  return h.some((b) => b >= 0x80) && !isUtf8(h);
}

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Address fields that break RFC 5322: an unquoted '@' in a display name, an angle address without '@'. */
function hasMalformedAddress(raw: Buffer): boolean {
  const fields = headerOf(raw)
    .toString('latin1')
    .split(/\r\n(?![ \t])/)
    .filter((l) => /^(from|to|cc|bcc|sender|reply-to):/i.test(l))
    .map((l) => l.slice(l.indexOf(':') + 1));
  return fields.some(
    (v) =>
      /(^|,)[^"<,]*@[^"<,]*</.test(v) ||
      /<[^>@]*>/.test(v) ||
      /<[^>]*:;[^>]*>/.test(v) ||
      /[^\s<>,"@]*@[^\s<>,"@]*@/.test(v) ||
      v.trim() === '',
  );
}

/** Envelope fields that RFC 5322 section 3.6 allows at most once, present more than once. */
function hasRepeatedField(raw: Buffer): boolean {
  const seen = new Set<string>();
  for (const l of headerOf(raw)
    .toString('latin1')
    .split(/\r\n(?![ \t])/)) {
    const m = /^(from|to|cc|bcc|sender|reply-to|subject|date|message-id|in-reply-to):/i.exec(l);
    if (!m) continue;
    const k = m[1].toLowerCase();
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}

/** A multipart part that ends with its own close delimiter, right before an outer delimiter. */
function hasTightCloseDelimiter(raw: Buffer, p: MimePart): boolean {
  for (const c of p.children) {
    const b = c.type === 'multipart' ? c.params.boundary : undefined;
    if (b && raw.subarray(c.bodyEnd - b.length - 4, c.bodyEnd).toString('latin1') === `--${b}--`) return true;
    if (hasTightCloseDelimiter(raw, c)) return true;
  }
  return p.message ? hasTightCloseDelimiter(raw, p.message.root) : false;
}

function hasLoneCr(raw: Buffer): boolean {
  for (let i = raw.indexOf(13); i >= 0; i = raw.indexOf(13, i + 1)) if (raw[i + 1] !== 10) return true;
  return false;
}

function hasUnquotedSpaceParam(raw: Buffer): boolean {
  return /^content-(type|disposition):[^\r\n]*;\s*[\w*.-]+=(?!")[^;\r\n"]*[^\s;][ \t]+[^\s;(][^;\r\n]*/im.test(
    raw.toString('latin1'),
  );
}

function hasCloseDelimiterJunk(raw: Buffer, p: MimePart): boolean {
  const text = raw.toString('latin1');
  const walk = (q: MimePart): boolean => {
    const b = q.type === 'multipart' ? q.params.boundary : undefined;
    if (b) {
      const at = text.indexOf(`--${b}--`);
      if (at >= 0 && /^[^\s]/.test(text.slice(at + b.length + 4, at + b.length + 5))) return true;
    }
    return q.children.some(walk) || (q.message ? walk(q.message.root) : false);
  };
  return walk(p);
}

function hasBoundaryPrefix(p: MimePart, outer: string[] = []): boolean {
  const b = p.type === 'multipart' ? (p.params.boundary ?? '') : '';
  if (b && outer.some((o) => b.startsWith(o) && b !== o)) return true;
  const next = b ? [...outer, b] : outer;
  if (p.children.some((c) => hasBoundaryPrefix(c, next))) return true;
  return p.message ? hasBoundaryPrefix(p.message.root, next) : false;
}

let dovecot: Dovecot | null = null;
let f: ImapFixture;
let d: RawImap;
let p: RawImap;
let messages: Buffer[] = [];
const skip = peer('dovecot', 'dovecot-imapd').skip;

before(async () => {
  if (skip) return;
  messages = corpus(COUNT);
  dovecot = await startDovecot({ users: 1 });
  f = await imapFixture({ users: ['alice'], configure: (c) => (c.imap.max_message_size = 64 * 1024 * 1024) });
  d = (await RawImap.open(dovecot.imapPort)).c;
  await d.cmd('LOGIN user1 pass');
  p = await f.login();
  await appendAll(d, 'INBOX', messages);
  await appendAll(p, 'INBOX', messages);
  await d.cmd('EXAMINE INBOX');
  await p.cmd('EXAMINE INBOX');
});

after(async () => {
  d?.close();
  await f?.stop();
  await dovecot?.stop();
});

/** Length of the literal in a `(NAME[..] ~{n}` answer, or null. */
function literalLength(answer: string): number | null {
  const m = /^\([^ ]+ ~?\{(\d+)\}/.exec(answer);
  return m ? Number(m[1]) : null;
}

test('Dovecot and Petrel answer the same, message by message and section by section', {
  skip,
  timeout: 3_600_000,
}, async () => {
  const unexplained: string[] = [];
  const named = new Map<DifferenceName, number>();
  let compared = 0;
  const note = (n: DifferenceName) => named.set(n, (named.get(n) ?? 0) + 1);
  for (let seq = 1; seq <= messages.length; seq++) {
    const raw = messages[seq - 1];
    const parsed = parseMessage(raw);
    const latin1 = isLatin1Header(raw);
    const noMime =
      !/^mime-version:/im.test(headerOf(raw).toString('latin1')) &&
      /^content-/im.test(headerOf(raw).toString('latin1'));
    const prefix = hasBoundaryPrefix(parsed.root);
    const bs = await fetchOne(d, seq, 'BODYSTRUCTURE');
    const parts = partsOf(bs.slice('(BODYSTRUCTURE '.length, -1));
    const items = [
      'BODYSTRUCTURE',
      'BODY',
      'ENVELOPE',
      'RFC822.SIZE',
      'BODY.PEEK[]',
      'BODY.PEEK[HEADER]',
      'BODY.PEEK[TEXT]',
      'BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)]',
      'BODY.PEEK[HEADER.FIELDS.NOT (RECEIVED)]',
      'BODY.PEEK[]<100.200>',
      'BINARY.PEEK[]',
      'BINARY.SIZE[]',
    ];
    for (const part of parts) {
      items.push(`BODY.PEEK[${part.path}]`, `BODY.PEEK[${part.path}.MIME]`);
      if (part.message) items.push(`BODY.PEEK[${part.path}.HEADER]`, `BODY.PEEK[${part.path}.TEXT]`);
      if (!part.multipart && !part.message) items.push(`BINARY.PEEK[${part.path}]`, `BINARY.SIZE[${part.path}]`);
    }
    for (const item of items) {
      let theirs: string;
      try {
        theirs = await fetchOne(d, seq, item);
      } catch {
        console.log(`dovecot failed on message ${seq} ${item}`);
        note('dovecot-failed');
        d = (await RawImap.open(dovecot!.imapPort)).c;
        await d.cmd('LOGIN user1 pass');
        await d.cmd('EXAMINE INBOX');
        continue;
      }
      const ours = await fetchOne(p, seq, item);
      compared++;
      if (theirs === ours) continue;
      if (item.startsWith('BINARY') && theirs.replace('~{', '{') === ours.replace('~{', '{')) {
        note('literal8-choice');
        continue;
      }
      const structural = /^(BODYSTRUCTURE|BODY|ENVELOPE)$/.test(item);
      if (structural && latin1) note('latin1-header');
      else if ((item === 'BODYSTRUCTURE' || item === 'BODY') && noMime) note('no-mime-version');
      else if (item === 'ENVELOPE' && hasRepeatedField(raw)) note('repeated-field');
      else if (hasLoneCr(raw)) note('lone-cr');
      else if ((item === 'BODYSTRUCTURE' || item === 'BODY') && hasUnquotedSpaceParam(raw)) note('malformed-parameter');
      else if (hasCloseDelimiterJunk(raw, parsed.root)) note('close-delimiter-junk');
      else if (
        item === 'ENVELOPE' &&
        (/SYNTAX_ERROR|MISSING_/.test(theirs) || / ""\)|\("[^"]*@[^"]*:" NIL/.test(ours) || hasMalformedAddress(raw))
      )
        note('malformed-address');
      else if (
        (item === 'BINARY.PEEK[]' || item === 'BINARY.SIZE[]') &&
        (parsed.root.type === 'multipart' ||
          parsed.root.message ||
          !['7bit', '8bit', 'base64', 'quoted-printable'].includes(parsed.root.encoding))
      )
        note('binary-whole-message');
      else if (prefix) note('boundary-prefix');
      else if (theirs.startsWith('ERROR NO [PARSE]') && item.startsWith('BINARY')) note('invalid-encoding');
      else if (/^BODY\.PEEK\[[\d.]+\]$/.test(item) && hasTightCloseDelimiter(raw, parsed.root))
        note('close-delimiter-crlf');
      else if (item.startsWith('BINARY.SIZE[') && item !== 'BINARY.SIZE[]') {
        // Compare with the length of what Dovecot actually sends for BINARY of that part.
        const sent = literalLength(await fetchOne(d, seq, item.replace('BINARY.SIZE', 'BINARY.PEEK')));
        const ourSize = Number(/ (\d+)\)$/.exec(ours)?.[1]);
        if (sent === ourSize) note('dovecot-binary-size');
        else
          unexplained.push(`msg ${seq} ${item}\n  dovecot: ${theirs.slice(0, 600)}\n  petrel:  ${ours.slice(0, 600)}`);
      } else
        unexplained.push(`msg ${seq} ${item}\n  dovecot: ${theirs.slice(0, 600)}\n  petrel:  ${ours.slice(0, 600)}`);
    }
  }
  const summary = [...named].map(([k, n]) => `  ${k}: ${n} (${DIFFERENCES[k]})`).join('\n');
  console.log(
    `compared ${compared} answers over ${messages.length} messages; named differences:\n${summary || '  none'}`,
  );
  if (unexplained.length) console.log(unexplained.join('\n'));
  assert.deepEqual(unexplained.slice(0, 10), [], `${unexplained.length} unexplained differences`);
});
