// Authentication-Results (RFC 8601) on the way in: header fields from outside that claim our authserv-id
// are removed before the message is stored (section 5: a forged result must not be trusted by readers of
// the mailbox), and ours is written on top.

/** The header block's end: the offset after the blank line (or the whole buffer when there is none). */
function headerEnd(raw: Buffer): number {
  const i = raw.indexOf('\r\n\r\n');
  if (i >= 0) return i + 4;
  return raw.subarray(0, 2).toString() === '\r\n' ? 2 : raw.length;
}

/** The authserv-id of an Authentication-Results value (RFC 8601 section 2.2), comments dropped, lower case. */
export function authservIdOf(value: string, arc: boolean): string {
  let v = value.replace(/\([^()]*\)/g, ' ').trim();
  // ARC-Authentication-Results: "i=N; authserv-id; ..." (RFC 8617 section 4.1.1).
  if (arc) v = v.replace(/^i\s*=\s*\d+\s*;/i, '').trim();
  const id = v.split(/[;\s]/)[0] ?? '';
  return id.replace(/^"|"$/g, '').toLowerCase();
}

/** The message without the header fields `drop` selects (given the lower-case name and the unfolded value). */
function dropFields(raw: Buffer, drop: (name: string, value: string) => boolean): Buffer {
  const end = headerEnd(raw);
  const head = raw.subarray(0, end).toString('latin1');
  // Fields: a line and its folded continuations (lines starting with space or tab).
  const fields = head.match(/[^\r\n]*(?:\r\n|$)(?:[ \t][^\r\n]*(?:\r\n|$))*/g)?.filter((f) => f !== '') ?? [];
  let dropped = false;
  const kept = fields.filter((f) => {
    const colon = f.indexOf(':');
    if (colon <= 0) return true;
    const name = f.slice(0, colon).trim().toLowerCase();
    const gone = drop(name, f.slice(colon + 1).replace(/\r\n/g, ''));
    if (gone) dropped = true;
    return !gone;
  });
  if (!dropped) return raw;
  return Buffer.concat([Buffer.from(kept.join(''), 'latin1'), raw.subarray(end)]);
}

/**
 * The message without Authentication-Results / ARC-Authentication-Results fields whose authserv-id is
 * ours, and without X-Spam-Flag/-Score/-Status from outside (ours are the only ones a reader should see).
 * Returns the same buffer when there is none.
 */
export function stripOwnAuthResults(raw: Buffer, authservId: string): Buffer {
  const ours = authservId.toLowerCase();
  return dropFields(raw, (name, value) => {
    if (name === 'x-spam-flag' || name === 'x-spam-score' || name === 'x-spam-status') return true;
    if (name !== 'authentication-results' && name !== 'arc-authentication-results') return false;
    return authservIdOf(value, name.startsWith('arc-')) === ours;
  });
}

/** "Authentication-Results: <value>\r\n" (the value already folded with CRLF + white space). */
export function authResultsField(value: string): string {
  return `Authentication-Results: ${value}\r\n`;
}
