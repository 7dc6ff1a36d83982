// Modified UTF-7 for mailbox names (RFC 3501 section 5.1.3); not used once UTF8=ACCEPT is enabled.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';

/** Encodes a UTF-8 mailbox name into modified UTF-7. */
export function encodeMutf7(s: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = () => {
    if (!pending.length) return;
    const bytes = Buffer.alloc(pending.length * 2);
    for (let i = 0; i < pending.length; i++) bytes.writeUInt16BE(pending[i], i * 2);
    out += `&${bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
    pending = [];
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      flush();
      out += c === 0x26 ? '&-' : s[i];
    } else pending.push(c); // UTF-16 code units, surrogates included, as RFC 2152 encodes them
  }
  flush();
  return out;
}

/** Decodes modified UTF-7; null when the name is not valid modified UTF-7 (RFC 3501 section 5.1.3). */
export function decodeMutf7(s: string): string | null {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7e || c < 0x20) return null;
    if (s[i] !== '&') {
      out += s[i];
      continue;
    }
    const end = s.indexOf('-', i + 1);
    if (end < 0) return null;
    const chunk = s.slice(i + 1, end);
    i = end;
    if (chunk === '') {
      out += '&';
      continue;
    }
    for (const ch of chunk) if (!B64.includes(ch)) return null;
    const bytes = Buffer.from(chunk.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0 || bytes.length === 0) return null;
    let text = '';
    for (let j = 0; j < bytes.length; j += 2) text += String.fromCharCode(bytes.readUInt16BE(j));
    // Printable ASCII must not be encoded (RFC 3501: "MUST be represented by themselves").
    if (/[\x20-\x7e]/.test(text)) return null;
    if (encodeMutf7(text) !== `&${chunk}-`) return null;
    out += text;
  }
  // RFC 3501 5.1.3: the base64 carries UTF-16, so a lone surrogate is no character; and a name has one
  // encoding (one shifted run per run of such characters): otherwise the name created is not the one LIST shows.
  if (!out.isWellFormed() || encodeMutf7(out) !== s) return null;
  return out;
}
