// Parses Content-Type and Content-Disposition values and their parameters (RFC 2045 section 5.1,
// RFC 2183 section 2, RFC 2231 continuations and charsets), tolerating broken quoting.
import { decodeCharset } from './charset.ts';
import { decodeWords } from './encoded-words.ts';

export interface ParamSet {
  /** Lower-case names; RFC 2231 sections joined and decoded; RFC 2047 words in plain values decoded. */
  params: Record<string, string>;
  /** Names as written, values unquoted (escapes removed) but otherwise as written. */
  rawParams: [string, string][];
}

export interface ContentType extends ParamSet {
  type: string;
  subtype: string;
  /** type and subtype as written (case kept). */
  rawType: string;
  rawSubtype: string;
}

export interface Disposition extends ParamSet {
  type: string;
  /** The disposition type as written (case kept). */
  rawType: string;
}

function isBlank(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** True when s[i..to) starts with a parameter name and "=" (a next parameter whose ";" was left out). */
function paramStartAt(s: string, i: number, to: number): boolean {
  let j = i;
  while (j < to && !isBlank(s[j]) && !'=;"()'.includes(s[j])) j++;
  if (j === i) return false;
  while (j < to && (s[j] === ' ' || s[j] === '\t')) j++;
  return j < to && s[j] === '=';
}

/** Start of the blank run before a next "name=" in s[from..to), or -1; linear, unlike a backtracking regex. */
function nextParamAt(s: string, from: number, to: number): number {
  let i = from;
  while (i < to) {
    if (!isBlank(s[i])) {
      i++;
      continue;
    }
    const blankStart = i;
    while (i < to && isBlank(s[i])) i++;
    if (paramStartAt(s, i, to)) return blankStart;
  }
  return -1;
}

/** Skips blanks and (nested) comments, RFC 5322 section 3.2.2 CFWS. */
function skipCfws(s: string, i: number): number {
  for (;;) {
    while (i < s.length && isBlank(s[i])) i++;
    if (s[i] !== '(') return i;
    let depth = 0;
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) {
        i++;
        break;
      }
    }
  }
}

/** Reads a token up to one of the stop characters, a blank or a comment. */
function readToken(s: string, i: number, stops: string): number {
  while (i < s.length && !isBlank(s[i]) && s[i] !== '(' && !stops.includes(s[i])) i++;
  return i;
}

/** Reads a quoted-string starting at the opening quote (RFC 5322 section 3.2.4); unterminated runs to the end. */
function readQuoted(s: string, i: number): { value: string; next: number } {
  let value = '';
  for (i++; i < s.length; i++) {
    const c = s[i];
    if (c === '"') return { value, next: i + 1 };
    if (c === '\\' && i + 1 < s.length) value += s[++i];
    else if (c !== '\r' && c !== '\n') value += c;
  }
  return { value, next: i };
}

/** Parses `*(";" parameter)` from position i (RFC 2045 section 5.1), best effort. */
export function parseParams(s: string, i = 0): ParamSet {
  const rawParams: [string, string][] = [];
  while (i < s.length) {
    i = skipCfws(s, i);
    if (i >= s.length) break;
    if (s[i] === ';') {
      i++;
      continue;
    }
    const nameStart = i;
    i = readToken(s, i, '=;"');
    const name = s.slice(nameStart, i);
    i = skipCfws(s, i);
    if (name === '' || s[i] !== '=') {
      // Not "name=value": skip to the next parameter.
      const semi = s.indexOf(';', i + (name === '' ? 1 : 0));
      i = semi < 0 ? s.length : semi;
      continue;
    }
    i = skipCfws(s, i + 1);
    let value: string;
    const semi = (from: number): number => {
      const k = s.indexOf(';', from);
      return k < 0 ? s.length : k;
    };
    if (s[i] === '"') {
      const q = readQuoted(s, i);
      value = q.value;
      // Text after the closing quote but before ";" is broken quoting: kept, unless it is a
      // comment or the next parameter with its ";" missing.
      const k = skipCfws(s, q.next);
      const end = semi(k);
      if (paramStartAt(s, k, end)) i = k;
      else {
        value += s.slice(k, end).trim();
        i = end;
      }
    } else {
      // Unquoted: a token, but blanks are tolerated ("name=my file.txt") up to ";" or a next
      // "name=" whose ";" is missing (as in the RFC 2231 section 3 example).
      let end = semi(i);
      const next = nextParamAt(s, i, end);
      if (next >= 0) end = next;
      value = s.slice(i, end).trim();
      const comment = value.lastIndexOf(' (');
      if (comment > 0 && value.endsWith(')')) value = value.slice(0, comment).trimEnd();
      i = end;
    }
    rawParams.push([name, value]);
  }
  return { params: joinParams(rawParams), rawParams };
}

interface Section {
  value: string;
  encoded: boolean;
}

/** RFC 2231 section 3/4: "%XX" to bytes; a bad escape is kept as written. */
function percentDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 && i + 2 < s.length && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 128) out.push(c);
    else for (const b of Buffer.from(s[i], 'utf8')) out.push(b);
  }
  return Buffer.from(out);
}

/** Joins RFC 2231 sections ("name*0*=", "name*1=", "name*=") and decodes values; 2231 forms win over plain ones. */
function joinParams(raw: [string, string][]): Record<string, string> {
  const params: Record<string, string> = {};
  const extended = new Map<string, Map<number, Section>>();
  for (const [name, value] of raw) {
    const lower = name.toLowerCase();
    const m = /^([^*]+)\*(?:(\d{1,4})(\*)?)?$/.exec(lower);
    if (m === null) {
      if (lower !== '__proto__' && !Object.hasOwn(params, lower)) {
        params[lower] = value.includes('=?') ? decodeWords(value) : value;
      }
      continue;
    }
    let sections = extended.get(m[1]);
    if (sections === undefined) extended.set(m[1], (sections = new Map()));
    const n = m[2] === undefined ? 0 : Number(m[2]);
    const encoded = m[2] === undefined || m[3] === '*';
    if (!sections.has(n)) sections.set(n, { value, encoded });
  }
  for (const [base, sections] of extended) {
    if (base === '__proto__') continue;
    let charset = '';
    const bytes: Buffer[] = [];
    const order = [...sections.keys()].sort((a, b) => a - b);
    for (const n of order) {
      const sec = sections.get(n)!;
      let v = sec.value;
      if (n === order[0] && sec.encoded) {
        // RFC 2231 section 4: charset'language'value; quotes may be missing in broken mail.
        const q1 = v.indexOf("'");
        const q2 = q1 < 0 ? -1 : v.indexOf("'", q1 + 1);
        if (q2 >= 0) {
          charset = v.slice(0, q1);
          v = v.slice(q2 + 1);
        }
      }
      bytes.push(sec.encoded ? percentDecode(v) : Buffer.from(v, 'utf8'));
    }
    params[base] = decodeCharset(Buffer.concat(bytes), charset);
  }
  return params;
}

/** Parses a Content-Type value; null when it has no "type/subtype" (RFC 2045 section 5.2 then applies the default). */
export function parseContentType(value: string): ContentType | null {
  let i = skipCfws(value, 0);
  const typeStart = i;
  i = readToken(value, i, '/;');
  const rawType = value.slice(typeStart, i);
  const type = rawType.toLowerCase();
  i = skipCfws(value, i);
  if (type === '' || value[i] !== '/') return null;
  i = skipCfws(value, i + 1);
  const subStart = i;
  i = readToken(value, i, ';');
  const rawSubtype = value.slice(subStart, i);
  const subtype = rawSubtype.toLowerCase();
  if (subtype === '') return null;
  return { type, subtype, rawType, rawSubtype, ...parseParams(value, i) };
}

/** Parses a Content-Disposition value (RFC 2183 section 2); null when there is no disposition type. */
export function parseDisposition(value: string): Disposition | null {
  let i = skipCfws(value, 0);
  const start = i;
  i = readToken(value, i, ';');
  const rawType = value.slice(start, i);
  const type = rawType.toLowerCase();
  if (type === '') return null;
  return { type, rawType, ...parseParams(value, i) };
}

/** One RFC 2231 section as written: "name*n" (plain) or "name*n*" / "name*" (encoded). */
interface WrittenSection {
  base: string;
  index: number;
  encoded: boolean;
  value: string;
}

/**
 * Parameters as IMAP shows them in BODY and BODYSTRUCTURE: RFC 2231 continuations (section 3) joined into
 * one parameter, values otherwise as written (RFC 9051 section 7.5.2 shows parameters as strings and says no
 * more; this is what Dovecot sends, so clients see one form). Encoded sections (section 4) stay encoded, the
 * joined name ending in "*" and the value keeping charset'language' in front (empty when the first section
 * was plain); a plain section among encoded ones has its "%" written "%25". Names whose sections do not run
 * 0, 1, 2... (one missing, one repeated) are left as they are, each section on its own. Plain parameters come
 * first, as written, then the joined ones by name. A list with no section is returned unchanged.
 */
export function joinContinuations(raw: [string, string][]): [string, string][] {
  const plain: [string, string][] = [];
  const sections: WrittenSection[] = [];
  for (const [name, value] of raw) {
    const m = /^([^*]*)\*(\d{0,9})(\*?)$/.exec(name);
    if (m === null) plain.push([name, value]);
    else sections.push({ base: m[1], index: Number(m[2]), encoded: m[2] === '' || m[3] === '*', value });
  }
  if (sections.length === 0) return raw;
  // Names in code unit order (Dovecot's order; names are ASCII tokens), each name's sections together
  // whatever their case (RFC 2045 section 5.1: names are case-insensitive), in index order (stable for repeats).
  sections.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : a.index - b.index));
  const groups = new Map<string, WrittenSection[]>();
  for (const s of sections) {
    const key = s.base.toLowerCase();
    const g = groups.get(key);
    if (g) g.push(s);
    else groups.set(key, [s]);
  }
  const out = plain;
  for (const group of groups.values()) {
    group.sort((a, b) => a.index - b.index);
    const complete = group.every((s, i) => s.index === i);
    const encoded = group.some((s) => s.encoded);
    if (!complete) {
      for (const s of group) out.push([`${s.base}*${s.index}${s.encoded ? '*' : ''}`, s.value]);
      continue;
    }
    let value = encoded && !group[0].encoded ? "''" : '';
    for (const s of group) value += encoded && !s.encoded ? s.value.replaceAll('%', '%25') : s.value;
    out.push([encoded ? `${group[0].base}*` : group[0].base, value]);
  }
  return out;
}
