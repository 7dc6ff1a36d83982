// Bytes to text as Python's `bytes.decode(charset, errors)` does it, for the Pyzor digest: Python's codec
// names (encodings.search_function: normalize_encoding, then encodings.aliases), not WHATWG's labels, which
// map iso-8859-1, latin1, cp819, us-ascii and ANSI_X3.4-1968 to windows-1252, iso-8859-9 to windows-1254
// and tis-620 to windows-874; Python's single-byte tables (undefined octets are errors, so dropped under
// errors="ignore" and U+FFFD under "replace", where WHATWG maps some of them); UTF-16 and UTF-32 with
// their byte order marks. Multi-byte Asian codecs go to the WHATWG decoder of the same name, but for
// GB2312 and EUC-KR (python-dbcs.ts) and shift_jis (python-dbcs.ts).
import { PY_ALIASES, PY_CODECS, PY_SBCS } from './python-codecs-data.ts';
import { decodePythonDbcs, decodePythonShiftJis } from './python-dbcs.ts';

export type Errors = 'ignore' | 'replace';

/**
 * The Python codec module a charset name resolves to, or undefined where Python raises LookupError
 * (unknown names, and codecs that are not text encodings, such as base64 or quopri).
 */
export function pythonCodec(name: string): string | undefined {
  // codecs.lookup lower-cases; normalize_encoding turns each run of characters other than ASCII letters,
  // digits and "." into one "_" (none at either end).
  let norm = '';
  let punct = false;
  for (const c of name.toLowerCase()) {
    if (/[a-z0-9.]/.test(c)) {
      if (punct && norm) norm += '_';
      norm += c;
      punct = false;
    } else if (!/\p{L}|\p{N}/u.test(c)) punct = true;
  }
  const alias = PY_ALIASES.get(norm) ?? PY_ALIASES.get(norm.replace(/\./g, '_'));
  for (const mod of [alias, norm]) if (mod && !mod.includes('.') && PY_CODECS.has(mod)) return mod;
  return undefined;
}

const BAD = '\ufffd';

/** A single-byte codec: `table` is the upper half (ASCII below) or all 256; U+FFFE is undefined. */
function sbcs(buf: Uint8Array, table: string, errors: Errors): string {
  const base = table.length === 128 ? 128 : 0;
  let out = '';
  for (const b of buf) {
    const c = b < base ? String.fromCharCode(b) : table[b - base];
    if (c !== '\ufffe') out += c;
    else if (errors === 'replace') out += BAD;
  }
  return out;
}

/**
 * UTF-8: WHATWG's decoder drops the same octets as Python's (both take the maximal ill-formed subpart as
 * one error), but marks them with U+FFFD, which a well-formed EF BF BD also gives: decode between those.
 */
function utf8(buf: Uint8Array, errors: Errors): string {
  const dec = new TextDecoder('utf-8', { ignoreBOM: true });
  if (errors === 'replace') return dec.decode(buf);
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i + 2 < buf.length; i++)
    if (buf[i] === 0xef && buf[i + 1] === 0xbf && buf[i + 2] === 0xbd) {
      parts.push(dec.decode(buf.subarray(from, i)).replace(/\ufffd/g, ''));
      from = i + 3;
      i += 2;
    }
  parts.push(dec.decode(buf.subarray(from)).replace(/\ufffd/g, ''));
  return parts.join(BAD);
}

/**
 * UTF-16 (unit 2) and UTF-32 (unit 4) as CPython decodes them: the plain codec takes a leading byte order
 * mark and defaults to little-endian (the machine's order) without one; an unpaired surrogate, a UTF-32
 * value that is a surrogate or above U+10FFFF, and a truncated last unit are errors.
 */
function utf16or32(buf: Uint8Array, unit: 2 | 4, order: 'le' | 'be' | 'bom', errors: Errors): string {
  let i = 0;
  let le = order !== 'be';
  if (order === 'bom' && buf.length >= unit) {
    const bomLE = unit === 2 ? [0xff, 0xfe] : [0xff, 0xfe, 0, 0];
    const bomBE = unit === 2 ? [0xfe, 0xff] : [0, 0, 0xfe, 0xff];
    if (bomLE.every((b, k) => buf[k] === b)) i = unit;
    else if (bomBE.every((b, k) => buf[k] === b)) {
      i = unit;
      le = false;
    }
  }
  const at = (k: number): number => {
    if (unit === 2) return le ? buf[k] | (buf[k + 1] << 8) : (buf[k] << 8) | buf[k + 1];
    return le
      ? (buf[k] | (buf[k + 1] << 8) | (buf[k + 2] << 16) | (buf[k + 3] << 24)) >>> 0
      : ((buf[k] << 24) | (buf[k + 1] << 16) | (buf[k + 2] << 8) | buf[k + 3]) >>> 0;
  };
  let out = '';
  const bad = () => {
    if (errors === 'replace') out += BAD;
  };
  for (; i + unit <= buf.length; i += unit) {
    const v = at(i);
    if (unit === 4) {
      if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) bad();
      else out += String.fromCodePoint(v);
    } else if (v >= 0xd800 && v <= 0xdbff) {
      const w = i + 4 <= buf.length ? at(i + 2) : -1;
      if (w >= 0xdc00 && w <= 0xdfff) {
        out += String.fromCharCode(v, w);
        i += 2;
      } else if (w < 0) {
        bad(); // a high surrogate at the end: one error ("unexpected end of data") for the rest
        return out;
      } else bad();
    } else if (v >= 0xdc00 && v <= 0xdfff) bad();
    else out += String.fromCharCode(v);
  }
  if (i < buf.length) bad();
  return out;
}

/** WHATWG decoders that read a Python codec's characters the same way, or near enough (see README). */
const WHATWG: Record<string, string> = {
  big5: 'big5',
  big5hkscs: 'big5',
  cp950: 'big5',
  cp932: 'shift_jis',
  cp949: 'euc-kr',
  euc_jp: 'euc-jp',
  gbk: 'gbk',
  gb18030: 'gb18030',
  iso2022_jp: 'iso-2022-jp',
};

/**
 * The text, or null where Python raises LookupError or UnicodeError (pyzor then decodes as ASCII), or
 * where the codec is one we do not have (utf_7, iso2022_kr, hz, johab, the JIS X 0213 codecs, the
 * escape codecs): pyzor's fallback is the nearest we can do.
 */
export function pythonDecode(buf: Uint8Array, charset: string, errors: Errors): string | null {
  const codec = pythonCodec(charset);
  if (!codec) return null;
  const table = PY_SBCS.get(codec);
  if (table) return sbcs(buf, table, errors);
  switch (codec) {
    case 'ascii':
      return sbcs(buf, '\ufffe'.repeat(128), errors);
    case 'latin_1':
    case 'charmap': // no mapping table given: octet n is U+00nn
      return Buffer.from(buf).toString('latin1');
    case 'utf_8':
      return utf8(buf, errors);
    case 'utf_8_sig':
      return utf8(buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? buf.subarray(3) : buf, errors);
    case 'utf_16':
      return utf16or32(buf, 2, 'bom', errors);
    case 'utf_16_le':
      return utf16or32(buf, 2, 'le', errors);
    case 'utf_16_be':
      return utf16or32(buf, 2, 'be', errors);
    case 'utf_32':
      return utf16or32(buf, 4, 'bom', errors);
    case 'utf_32_le':
      return utf16or32(buf, 4, 'le', errors);
    case 'utf_32_be':
      return utf16or32(buf, 4, 'be', errors);
    case 'shift_jis':
      return decodePythonShiftJis(Buffer.from(buf), errors);
  }
  const dbcs = decodePythonDbcs(Buffer.from(buf), codec, errors);
  if (dbcs !== null) return dbcs;
  const whatwg = WHATWG[codec];
  if (!whatwg) return null;
  // Node's decoders drop 0x7F (DEL), which Python keeps; it is no trail byte in any of these, so decode
  // between them (not in ISO-2022-JP, where it can only be an error).
  const dec = new TextDecoder(whatwg);
  const parts: string[] = [];
  let from = 0;
  if (codec !== 'iso2022_jp')
    for (let i = buf.indexOf(0x7f); i >= 0; i = buf.indexOf(0x7f, from)) {
      parts.push(dec.decode(buf.subarray(from, i)));
      from = i + 1;
    }
  parts.push(dec.decode(buf.subarray(from)));
  const text = parts.join('\x7f');
  return errors === 'ignore' ? text.replace(/\ufffd/g, '') : text;
}
