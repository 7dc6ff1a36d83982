// Parses RFC 5322 address lists (section 3.4, plus the obsolete forms of section 4.4) into IMAP
// ENVELOPE addresses, best effort: garbage yields what can be recovered, never an exception.
import type { EnvelopeAddress } from './types.ts';

interface Token {
  kind: 'word' | 'quoted' | 'literal' | 'special' | 'comment';
  text: string;
  /** Blanks or a comment came before it: where a display name gets its single spaces. */
  spaced: boolean;
}

const SPECIALS = '<>:;@,';

function isBlank(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** Splits a structured field body into atoms (dots included, for obs-phrase), quoted strings, domain literals, specials and comments. */
function lex(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let spaced = false;
  const push = (kind: Token['kind'], text: string): void => {
    out.push({ kind, text, spaced });
    spaced = kind === 'comment';
  };
  while (i < s.length) {
    const c = s[i];
    if (isBlank(c)) {
      i++;
      spaced = true;
    } else if (c === '(') {
      // RFC 5322 section 3.2.2: comments nest and may hold quoted-pairs.
      let depth = 0;
      let text = '';
      for (; i < s.length; i++) {
        const d = s[i];
        if (d === '\\' && i + 1 < s.length) text += s[++i];
        else if (d === '(') {
          if (depth++ > 0) text += d;
        } else if (d === ')') {
          if (--depth === 0) break;
          text += d;
        } else text += d;
      }
      i++;
      push('comment', text.trim());
    } else if (c === '"') {
      // RFC 5322 section 3.2.4; an unterminated quoted-string runs to the end.
      let text = '';
      for (i++; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '\\' && i + 1 < s.length) text += s[++i];
        else if (s[i] !== '\r' && s[i] !== '\n') text += s[i];
      }
      i++;
      push('quoted', text);
    } else if (c === '[') {
      const close = s.indexOf(']', i);
      const end = close < 0 ? s.length : close + 1;
      push('literal', s.slice(i, end));
      i = end;
    } else if (SPECIALS.includes(c)) {
      push('special', c);
      i++;
    } else if (c === ')' || c === ']' || c === '\\') i++;
    else {
      const start = i;
      while (i < s.length && !isBlank(s[i]) && !SPECIALS.includes(s[i]) && !'()"[]\\'.includes(s[i])) i++;
      push('word', s.slice(start, i));
    }
  }
  return out;
}

function isSpecial(t: Token | undefined, chars: string): boolean {
  return t !== undefined && t.kind === 'special' && chars.includes(t.text);
}

/** Index of the first special token among `chars` at or after i, or toks.length. */
function findSpecial(toks: Token[], i: number, chars: string): number {
  while (i < toks.length && !isSpecial(toks[i], chars)) i++;
  return i;
}

/**
 * RFC 5322 phrase: quotes removed, comments dropped, one space where the words were apart.
 * Stray specials (an unquoted "@" in a name) are kept as text.
 */
function phrase(toks: Token[], from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) {
    const t = toks[i];
    if (t.kind === 'comment') continue;
    out += out !== '' && t.spaced ? ` ${t.text}` : t.text;
  }
  return out;
}

/** Local part or domain: dot-atoms, quoted strings and literals joined without blanks (obs-local-part, obs-domain). */
function joined(toks: Token[], from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) if (toks[i].kind !== 'comment' && toks[i].kind !== 'special') out += toks[i].text;
  return out;
}

function lastComment(toks: Token[], from: number, to: number): string | null {
  for (let i = to - 1; i >= from; i--) if (toks[i].kind === 'comment' && toks[i].text !== '') return toks[i].text;
  return null;
}

/** Parses one mailbox (name-addr or addr-spec, section 3.4) starting at i; returns the index after it. */
function parseMailbox(toks: Token[], i: number, out: EnvelopeAddress[]): number {
  // An angle bracket before the next "," makes a name-addr, even after an unquoted "@" in the name.
  const stop = findSpecial(toks, i, '<,;');
  if (isSpecial(toks[stop], '<')) {
    const name = phrase(toks, i, stop);
    let j = stop + 1;
    let adl: string | null = null;
    if (isSpecial(toks[j], '@')) {
      // obs-route (section 4.4): "@domain,@domain:" before the addr-spec.
      const colon = findSpecial(toks, j, ':>');
      if (isSpecial(toks[colon], ':')) {
        const hops: string[] = [];
        let k = j;
        while (k < colon) {
          const next = findSpecial(toks, k + 1, ',:');
          hops.push('@' + joined(toks, k + 1, next));
          k = findSpecial(toks, next, '@:');
        }
        adl = hops.join(',');
        j = colon + 1;
      }
    }
    const close = findSpecial(toks, j, '>,;');
    const at = findSpecial(toks, j, '@>,;');
    const mailbox = joined(toks, j, Math.min(at, close));
    const host = at < close ? joined(toks, at + 1, findSpecial(toks, at + 1, '@>,;')) : '';
    out.push({ name: name === '' ? null : name, adl, mailbox, host });
    return isSpecial(toks[close], '>') ? close + 1 : close;
  }
  const end = findSpecial(toks, i, ',;<>');
  const at = findSpecial(toks, i, '@,;<>');
  if (end === i) return i;
  const mailbox = joined(toks, i, Math.min(at, end));
  // A second "@" ends the domain ("bob@a.example@b.example" is a.example, not a.exampleb.example).
  const host = at < end ? joined(toks, at + 1, findSpecial(toks, at + 1, '@,;<>')) : '';
  if (mailbox === '' && host === '' && at >= end) return end;
  // RFC 822 style "addr (Full Name)": the comment stands in for the display name.
  out.push({ name: lastComment(toks, i, end), adl: null, mailbox, host });
  return end;
}

/** Parses an address-list (RFC 5322 section 3.4) into ENVELOPE addresses; groups become start/end markers. */
export function parseAddressList(value: string): EnvelopeAddress[] {
  const toks = lex(value);
  const out: EnvelopeAddress[] = [];
  let i = 0;
  while (i < toks.length) {
    const t = toks[i];
    if (t.kind === 'comment' || isSpecial(t, ',;>@')) {
      i++;
      continue;
    }
    const before = i;
    const first = findSpecial(toks, i, ':<@,;');
    if (isSpecial(toks[first], ':')) {
      // group = display-name ":" [group-list] ";" (section 3.4); RFC 9051 7.5.2 markers around it.
      out.push({ name: null, adl: null, mailbox: phrase(toks, i, first), host: null });
      i = first + 1;
      while (i < toks.length && !isSpecial(toks[i], ';')) {
        if (toks[i].kind === 'comment' || isSpecial(toks[i], ',:>@')) i++;
        else {
          const at = i;
          i = parseMailbox(toks, i, out);
          if (i === at) i++;
        }
      }
      i++;
      out.push({ name: null, adl: null, mailbox: null, host: null });
    } else {
      i = parseMailbox(toks, i, out);
    }
    if (i === before) i++;
  }
  return out;
}
