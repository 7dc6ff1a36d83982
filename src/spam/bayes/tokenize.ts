// The Bayes tokenizer: what a message "says" as a set of tokens. Selected header fields (prefixed with
// their name, so "subject:free" and body "free" are different evidence), the names of the header fields
// present, relays (Received host names and /24 networks), the MIME structure, URL hosts (from HTML attributes too, which the text conversion drops),
// HTML tag names, and the decoded text (text/plain, text/html converted to text) as words plus orthogonal
// sparse bigrams (OSB, as in CRM114 and rspamd: each word paired with each of the next four, the distance
// part of the token), so "click here" and "click ... here" are evidence beside "click" and "here".

import { trimChars } from '../../core/text.ts';
import { decodeCharset, decodePartBody } from '../../mime/decode.ts';
import type { MimePart, ParsedMessage } from '../../mime/types.ts';
import { hashPair, idOf, pairId, tokenId } from './hash.ts';

/** OSB window: a word is paired with the next WINDOW - 1 words. */
export const WINDOW = 5;
/** Characters of decoded body text tokenized; the rest of a huge message adds little evidence. */
const MAX_TEXT = 60_000;
/** HTML source scanned for URLs and tag names. */
const MAX_HTML = 100_000;
const MIN_WORD = 2;
const MAX_WORD = 24;

/** Header fields whose words are tokens, prefixed with the field name. */
const WORD_FIELDS = new Set([
  'subject',
  'from',
  'reply-to',
  'sender',
  'to',
  'cc',
  'x-mailer',
  'user-agent',
  'organization',
  'list-id',
  'content-type',
  'precedence',
  'x-priority',
  'x-msmail-priority',
  'importance',
  'errors-to',
  'mime-version',
]);

/**
 * Fields that are never evidence: our own trace and verdict headers (learning from X-Spam-* would teach
 * the filter its own opinion), and those added at delivery but absent when a message is scored in SMTP.
 */
const IGNORED = /^(x-spam-|x-petrel-|authentication-results|arc-|return-path|delivered-to|x-original-to)/;

/** The tokens of a message, split in what pairs (word sequences) and what does not. */
export interface TokenStreams {
  /** Tokens that stand alone (header tokens, structure, URLs, tags). */
  singles: string[];
  /** Word sequences: each word is a token and pairs with its neighbours (OSB). */
  sequences: string[][];
}

// Combining marks (\p{M}) belong to their word: Thai vowels and tone marks, Devanagari's, decomposed accents.
const SPLIT = /[^\p{L}\p{M}\p{N}$%'@._-]+/u;
const DIGITS = /^[0-9]+$/;

/** Edge punctuation a word loses. */
const EDGE = "._'-";

/**
 * Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese; Korean has
 * spaces), and the Japanese prolonged sound mark. A sentence in them is one "word" to SPLIT, which MAX_WORD
 * turned into a single shape token: such mail had no body evidence at all. Their runs become overlapping
 * character bigrams instead (what Lucene's CJK analyzer indexes; no dictionary needed).
 */
const UNSPACED_CLASS =
  '[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Thai}\\p{Script=Lao}\\p{Script=Khmer}\\p{Script=Myanmar}\\u30fc]';
/** For matchAll only (it copies lastIndex, which test/exec would move). */
const UNSPACED = new RegExp(`${UNSPACED_CLASS}+`, 'gu');
const HAS_UNSPACED = new RegExp(UNSPACED_CLASS, 'u');
/** Bigrams of unspaced scripts taken from one text: about what the p99 message of spaced text gives. */
const MAX_BIGRAMS = 10_000;

function word(w: string, prefix: string, out: string[]): void {
  if (w.length < MIN_WORD) return;
  if (w.length > MAX_WORD) out.push(`${prefix}skip:${w[0]}${Math.floor(w.length / 10) * 10}`);
  else if (w.length > 5 && DIGITS.test(w)) out.push(`${prefix}num:${w.length}`);
  else out.push(prefix + w);
}

/**
 * The words of a text, lower-cased, trimmed of edge punctuation; over-long ones become a shape token; runs
 * of unspaced scripts become character bigrams (a single character alone), in text order.
 */
export function words(text: string, prefix = ''): string[] {
  const out: string[] = [];
  const unspaced = HAS_UNSPACED.test(text);
  let bigrams = 0;
  for (const piece of text.toLowerCase().split(SPLIT)) {
    if (!unspaced) {
      word(trimChars(piece, EDGE, true), prefix, out);
      continue;
    }
    let at = 0;
    for (const m of piece.matchAll(UNSPACED)) {
      word(trimChars(piece.slice(at, m.index), EDGE, true), prefix, out);
      at = m.index + m[0].length;
      const chars = [...m[0]];
      if (chars.length === 1) out.push(prefix + chars[0]);
      for (let i = 0; i + 1 < chars.length && bigrams < MAX_BIGRAMS; i++, bigrams++)
        out.push(prefix + chars[i] + chars[i + 1]);
    }
    word(trimChars(piece.slice(at), EDGE, true), prefix, out);
  }
  return out;
}

const URL_HOST = /\b(?:https?|ftp):\/\/(?:[^\s/@"'<>]*@)?([a-z0-9.-]+)/gi;
const IPV4 = /^[0-9]+(\.[0-9]+){3}$/;

function urlTokens(text: string, out: string[]): void {
  for (const m of text.matchAll(URL_HOST)) {
    const host = m[1].toLowerCase().replace(/\.$/, '');
    if (IPV4.test(host)) {
      out.push('url:ip');
      continue;
    }
    const labels = host.split('.');
    out.push(`url:${host}`);
    if (labels.length > 2) out.push(`url:${labels.slice(-2).join('.')}`);
  }
}

/**
 * user@domain within a field. The look-behind starts a match only where a run of address characters
 * starts (where the leftmost match would start anyway): without it a long run with no "@" is rescanned
 * from each of its positions, quadratic in the field's length.
 */
const ADDRESS = /(?<![^\s<>"',;])[^\s<>"',;]+@([^\s<>"',;]+)/g;

function addressTokens(field: string, value: string, out: string[]): void {
  for (const m of value.toLowerCase().matchAll(ADDRESS)) {
    out.push(`${field}:addr:${m[0]}`);
    out.push(`${field}:domain:${m[1]}`);
  }
}

function structureTokens(raw: Buffer, part: MimePart, out: string[], html: string[]): void {
  out.push(`mime:${part.type}/${part.subtype}`);
  if (part.encoding !== '7bit') out.push(`cte:${part.encoding}`);
  if (part.params.charset) out.push(`charset:${part.params.charset.toLowerCase()}`);
  const name = part.disposition?.params.filename ?? part.params.name;
  if (name) out.push(`filename:${name.toLowerCase().split('.').pop()}`);
  if (part.type === 'text' && part.subtype === 'html' && html.length < 4) {
    const end = Math.min(part.bodyEnd, part.bodyStart + MAX_HTML);
    try {
      html.push(decodeCharset(decodePartBody(raw, { ...part, bodyEnd: end }), part.params.charset));
    } catch {
      out.push('html:undecodable');
    }
  }
  for (const c of part.children) structureTokens(raw, c, out, html);
}

const TAG = /<([a-z][a-z0-9]{0,10})\b/gi;

// Host names and IPv4 addresses, matched only from the start of a run of host characters (the
// look-behind): from every position inside a long run that is no host name, the search is quadratic.
const RELAY = /(?<![a-z0-9.-])(?:\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b|[a-z0-9-]+(?:\.[a-z0-9-]+)+\b)/g;

/**
 * The relays a message passed: host names and IPv4 /24 networks of its Received fields. Our own Received
 * (added at delivery, absent when scored in SMTP) is in every learned message of both classes: neutral.
 */
function receivedTokens(value: string, out: string[]): void {
  for (const m of value.toLowerCase().matchAll(RELAY)) {
    const v = m[0];
    out.push(/^[0-9.]+$/.test(v) ? `received:ip:${v.split('.').slice(0, 3).join('.')}` : `received:${v}`);
  }
}

/** The token streams of a parsed message (raw is the bytes it was parsed from). */
export function tokenStreams(raw: Buffer, parsed: ParsedMessage): TokenStreams {
  const singles: string[] = [];
  const sequences: string[][] = [];
  for (const { name, value } of parsed.headerFields) {
    const field = name.toLowerCase();
    if (field === 'received') {
      receivedTokens(value, singles);
      continue;
    }
    if (IGNORED.test(field)) continue;
    singles.push(`hdr:${field}`);
    if (field === 'subject') {
      sequences.push(words(value, 'subject:'));
      if (value !== '' && value === value.toUpperCase() && /[A-Z]/.test(value)) singles.push('subject:shape:upper');
    } else if (field === 'message-id') {
      const at = value.lastIndexOf('@');
      singles.push(
        at < 0
          ? 'message-id:none'
          : `message-id:${value
              .slice(at + 1)
              .replace(/>.*$/, '')
              .toLowerCase()}`,
      );
    } else if (WORD_FIELDS.has(field)) {
      for (const w of words(value, `${field}:`)) singles.push(w);
      if (field === 'from' || field === 'reply-to' || field === 'sender' || field === 'to' || field === 'cc')
        addressTokens(field, value, singles);
    }
  }
  const html: string[] = [];
  structureTokens(raw, parsed.root, singles, html);
  for (const h of html) {
    urlTokens(h, singles);
    for (const m of h.matchAll(TAG)) singles.push(`tag:${m[1].toLowerCase()}`);
  }
  const text = parsed.text.length > MAX_TEXT ? parsed.text.slice(0, MAX_TEXT) : parsed.text;
  urlTokens(text, singles);
  sequences.push(words(text));
  return { singles, sequences };
}

/** Readable tokens (bigrams as "a +d b"): for tests and for explaining a score. */
export function tokenStrings(streams: TokenStreams): string[] {
  const out = new Set(streams.singles);
  for (const seq of streams.sequences)
    for (let i = 0; i < seq.length; i++) {
      out.add(seq[i]);
      for (let d = 1; d < WINDOW && i + d < seq.length; d++) out.add(`${seq[i]} +${d} ${seq[i + d]}`);
    }
  return [...out];
}

/**
 * Distinct tokens of one message, at most: what one learned message may add to a table (rows) and what
 * one score looks up. About twice the 99th percentile of the benchmark corpus (9,500); a long text would
 * give up to ~51,000, each a row, most of them word pairs seen once. The first tokens count: the header
 * fields, structure and links, then the text from its start.
 */
export const MAX_TOKENS = 20_000;

/** The distinct token ids of a message (at most MAX_TOKENS): what the tables count and the classifier looks up. */
export function tokenIds(streams: TokenStreams): number[] {
  const ids = new Set<number>();
  for (const s of streams.singles) {
    if (ids.size >= MAX_TOKENS) return [...ids];
    ids.add(tokenId(s));
  }
  for (const seq of streams.sequences) {
    const halves = seq.map(hashPair);
    for (let i = 0; i < seq.length; i++) {
      if (ids.size >= MAX_TOKENS) return [...ids];
      const a = halves[i];
      ids.add(idOf(a[0], a[1]));
      for (let d = 1; d < WINDOW && i + d < seq.length; d++) ids.add(pairId(a, halves[i + d], d));
    }
  }
  return [...ids];
}
