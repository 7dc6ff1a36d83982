// What Python's email package (3.11, compat32 policy, as pyzor uses it) reads from a part, where that
// differs from our MIME parser: the raw header values it works from, its transfer decodings
// (Message.get_payload(decode=True): quopri.decodestring over binascii.a2b_qp, decode_b over a2b_base64,
// _decode_uu over a2b_uu) and Content-Type parameters as _parseparam splits them.
import type { MimePart } from '../../mime/types.ts';

/**
 * The first field `name` of a part's header as Message.get() returns it under compat32
 * (header_source_parse): the value with leading blanks removed, folded lines kept with their line
 * breaks, the final line break dropped; trailing blanks stay.
 */
export function rawHeader(raw: Buffer, p: MimePart, name: string): string | undefined {
  const lines = raw
    .subarray(p.headerStart, p.headerEnd)
    .toString('latin1')
    .split(/(?<=\n)/);
  const want = name.toLowerCase();
  for (let i = 0; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon <= 0 || /^[ \t]/.test(lines[i]) || lines[i].slice(0, colon).trimEnd().toLowerCase() !== want) continue;
    let value = lines[i].slice(colon + 1).replace(/^[ \t]+/, '');
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1])) value += lines[++i];
    return value.replace(/[\r\n]+$/, '');
  }
  return undefined;
}

/**
 * A Content-Type parameter as Message.get_param reads it: the value split at ";" outside quotes
 * (_parseparam), names compared without case, quotes removed. For the charset of a field our parser
 * rejects as a whole, such as "; charset=utf-8" (Python: text/plain, charset utf-8).
 */
export function headerParam(value: string, name: string): string | undefined {
  const pieces: string[] = [];
  let s = value;
  for (;;) {
    let end = s.indexOf(';');
    const quotes = (t: string) => (t.match(/"/g)?.length ?? 0) - (t.match(/\\"/g)?.length ?? 0);
    while (end > 0 && quotes(s.slice(0, end)) % 2) end = s.indexOf(';', end + 1);
    if (end < 0) {
      pieces.push(s);
      break;
    }
    pieces.push(s.slice(0, end));
    s = s.slice(end + 1);
  }
  for (const piece of pieces.slice(1)) {
    const eq = piece.indexOf('=');
    if (eq < 0 || piece.slice(0, eq).trim().toLowerCase() !== name) continue;
    const v = piece.slice(eq + 1).trim();
    return v.length > 1 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
  }
  return undefined;
}

const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/**
 * binascii.a2b_qp (header=False): "=" and a line break is a soft break ("=" and CR skips to the next LF);
 * "=" and two hex digits (either case) an octet; "==" one "="; any other "=" stays; an "=" at the very
 * end is dropped. "=" followed by blanks is no soft break (RFC 2045 section 6.7 says to allow one; Python
 * does not).
 */
export function a2bQp(data: Uint8Array): Buffer {
  const out = Buffer.alloc(data.length);
  let n = 0;
  for (let i = 0; i < data.length; ) {
    const c = data[i];
    if (c !== 61) {
      out[n++] = c;
      i++;
      continue;
    }
    i++;
    if (i >= data.length) break;
    const d = data[i];
    if (d === 10 || d === 13) {
      while (i < data.length && data[i] !== 10) i++;
      if (i < data.length) i++;
    } else if (d === 61) {
      out[n++] = 61;
      i++;
    } else if (i + 1 < data.length && isHex(d) && isHex(data[i + 1])) {
      out[n++] = Number.parseInt(String.fromCharCode(d, data[i + 1]), 16);
      i += 2;
    } else out[n++] = 61;
  }
  return out.subarray(0, n);
}

/** bytes.splitlines(): lines end at LF, CR or CRLF. */
function byteLines(data: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let from = 0;
  for (let i = 0; i < data.length; i++)
    if (data[i] === 10 || data[i] === 13) {
      lines.push(data.subarray(from, i));
      if (data[i] === 13 && data[i + 1] === 10) i++;
      from = i + 1;
    }
  if (from < data.length) lines.push(data.subarray(from));
  return lines;
}

/** binascii.a2b_uu of one line; throws where Python raises binascii.Error. */
function a2bUu(line: Uint8Array): number[] {
  if (!line.length) return [];
  let len = (line[0] - 32) & 63;
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  let i = 1;
  for (; len > 0; i++) {
    let c = i < line.length ? line[i] : 0;
    if (c === 10 || c === 13 || i >= line.length) c = 0;
    else if (c < 32 || c > 96) throw new Error('Illegal char');
    else c = (c - 32) & 63;
    acc = (acc << 6) | c;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
      acc &= (1 << bits) - 1;
      len--;
    }
  }
  for (; i < line.length; i++) if (![32, 96, 10, 13].includes(line[i])) throw new Error('Trailing garbage');
  return out;
}

/**
 * email.message._decode_uu: from the first "begin <octal mode>" line to "end"; a line that will not
 * decode is retried cut to the length its count octet gives. Where Python raises ValueError (no begin
 * line, an empty line before "end", a line that still will not decode), get_payload returns the body
 * undecoded: null here.
 */
export function decodeUu(data: Uint8Array): Buffer | null {
  const lines = byteLines(data);
  let i = 0;
  for (; i < lines.length; i++) {
    const l = Buffer.from(lines[i]).toString('latin1');
    if (l.startsWith('begin ') && /^\s*[0-7]+\s*$/.test(l.slice(6).split(' ')[0])) break;
  }
  if (i >= lines.length) return null;
  const out: number[] = [];
  for (i++; i < lines.length; i++) {
    const line = lines[i];
    if (!line.length) return null;
    if (
      Buffer.from(line)
        .toString('latin1')
        .replace(/^[ \t\r\n\f]+|[ \t\r\n\f]+$/g, '') === 'end'
    )
      break;
    try {
      out.push(...a2bUu(line));
    } catch {
      try {
        out.push(...a2bUu(line.subarray(0, Math.floor((((line[0] - 32) & 63) * 4 + 5) / 3))));
      } catch {
        return null;
      }
    }
  }
  return Buffer.from(out);
}
