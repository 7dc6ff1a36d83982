// Whether a DNS message's records lie where their RDLENGTHs say (RFC 1035 sections 3.2.1, 4.1.3), checked
// before dns-packet decodes it: that library reads A/AAAA/TLSA/MX data by the type's own length rather than
// RDLENGTH and silently cuts a TXT string short at the end of the buffer, so a malformed or truncated answer
// would decode into records the server never sent.

/** The offset after the name at `off`, or -1 if it runs off the message or has a reserved label type.
 *  A compression pointer ends the name here; where it points is dns-packet's to check (backwards only). */
function skipName(msg: Buffer, off: number): number {
  for (let i = 0; i < 128; i++) {
    if (off >= msg.length) return -1;
    const len = msg[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= msg.length ? off + 2 : -1;
    if (len & 0xc0) return -1; // 01 and 10: reserved (RFC 1035 section 4.1.4)
    off += 1 + len;
  }
  return -1;
}

/** RDATA of these types is exactly a name after a fixed part of `skip` octets (RFC 1035 3.3, RFC 2782). */
const NAME_AT: Record<number, number> = { 2: 0, 5: 0, 12: 0, 15: 2, 33: 6 };

function rdataFits(msg: Buffer, type: number, start: number, end: number): boolean {
  const len = end - start;
  if (type === 1) return len === 4; // A
  if (type === 28) return len === 16; // AAAA
  if (type === 52) return len >= 3; // TLSA: usage, selector, matching type, data
  if (type === 16) {
    // TXT: one or more <character-string>s filling RDLENGTH exactly (RFC 1035 section 3.3.14).
    let off = start;
    while (off < end) off += 1 + msg[off];
    return len > 0 && off === end;
  }
  const at = NAME_AT[type];
  return at === undefined || (len > at && skipName(msg, start + at) === end);
}

/** True when the header's counts, every name and every record's RDATA fit the message as declared. */
export function wellFormed(msg: Buffer): boolean {
  if (msg.length < 12) return false;
  let off = 12;
  for (let q = msg.readUInt16BE(4); q > 0; q--) {
    off = skipName(msg, off);
    if (off < 0 || off + 4 > msg.length) return false;
    off += 4;
  }
  const records = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  for (let r = 0; r < records; r++) {
    off = skipName(msg, off);
    if (off < 0 || off + 10 > msg.length) return false;
    const type = msg.readUInt16BE(off);
    const end = off + 10 + msg.readUInt16BE(off + 8);
    if (end > msg.length || !rdataFits(msg, type, off + 10, end)) return false;
    off = end;
  }
  return true;
}
