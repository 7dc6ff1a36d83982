// Bare line ends in BDAT content (RFC 3030 section 2: text sent by BDAT MUST use CRLF line ends), where
// no dot-decoder looks at the octets: found, or turned into CRLF, over the whole message once it is in;
// and its longest line. With BODY=BINARYMIME only the header section is text; a binary body part may hold
// any octet.

const CR = 13;
const LF = 10;

/** Where the header section ends: after the first empty line (CRLF CRLF, or one made with bare ends). */
function headerEnd(buf: Buffer): number {
  const a = buf.indexOf('\r\n\r\n');
  const b = buf.indexOf('\n\n');
  const ends = [a >= 0 ? a + 4 : buf.length, b >= 0 ? b + 2 : buf.length];
  return Math.min(...ends);
}

/** Whether `buf` (or its header section) holds an LF without a CR before it, or a CR without an LF after. */
export function bareLineEnds(buf: Buffer, headerOnly: boolean): { lf: boolean; cr: boolean } {
  const end = headerOnly ? headerEnd(buf) : buf.length;
  let lf = false;
  let cr = false;
  for (let i = buf.indexOf(LF); i >= 0 && i < end && !lf; i = buf.indexOf(LF, i + 1))
    if (i === 0 || buf[i - 1] !== CR) lf = true;
  for (let i = buf.indexOf(CR); i >= 0 && i < end && !cr; i = buf.indexOf(CR, i + 1))
    if (i + 1 >= buf.length || buf[i + 1] !== LF) cr = true;
  return { lf, cr };
}

/** `buf` with every bare LF and bare CR (in its header section only, when `headerOnly`) made CRLF. */
export function crlfLineEnds(buf: Buffer, headerOnly: boolean): Buffer {
  const end = headerOnly ? headerEnd(buf) : buf.length;
  const text = buf
    .subarray(0, end)
    .toString('latin1')
    .replace(/\r\n|\r|\n/g, '\r\n');
  return Buffer.concat([Buffer.from(text, 'latin1'), buf.subarray(end)]);
}

/** Octets of the longest line of `buf` (of its header section only, when `headerOnly`), its CRLF excluded. */
export function longestLine(buf: Buffer, headerOnly: boolean): number {
  const end = headerOnly ? headerEnd(buf) : buf.length;
  let longest = 0;
  for (let at = 0; at < end; ) {
    const lf = buf.indexOf(LF, at);
    const stop = lf < 0 || lf >= end ? end : lf;
    const len = stop - at - (stop > at && stop === lf && buf[lf - 1] === CR ? 1 : 0);
    if (len > longest) longest = len;
    at = stop + 1;
  }
  return longest;
}
