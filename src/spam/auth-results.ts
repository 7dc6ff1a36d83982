// Authentication-Results (RFC 8601) on the way in: header fields from outside that claim our authserv-id
// are removed before the message is stored (section 5: a forged result must not be trusted by readers of
// the mailbox), and ours is written on top.

/** The header block's end: the offset after the blank line (or the whole buffer when there is none). */
function headerEnd(raw: Buffer): number {
  const i = raw.indexOf('\r\n\r\n');
  if (i >= 0) return i + 4;
  return raw.subarray(0, 2).toString() === '\r\n' ? 2 : raw.length;
}

/** The offset after any CFWS at `i` (RFC 5322 section 3.2.2: comments nest and may hold quoted-pairs). */
function skipCfws(v: string, i: number): number {
  let depth = 0;
  while (i < v.length) {
    const c = v[i];
    if (depth > 0 && c === '\\') i += 2;
    else if (c === '(') {
      depth++;
      i++;
    } else if (depth > 0 && c === ')') {
      depth--;
      i++;
    } else if (depth > 0 || c === ' ' || c === '\t' || c === '\r' || c === '\n') i++;
    else break;
  }
  return i;
}

/**
 * The authserv-id of an Authentication-Results value (RFC 8601 section 2.2: [CFWS] value, a token or a
 * quoted-string), lower case. Read the way an RFC-following reader reads it, so that no comment or
 * quoting lets a forged field name us to such a reader and escape removal.
 */
export function authservIdOf(value: string, arc: boolean): string {
  let i = skipCfws(value, 0);
  // ARC-Authentication-Results: "i=N; authserv-id; ..." (RFC 8617 section 4.1.1).
  if (arc) {
    const m = /^i[ \t]*=/i.exec(value.slice(i));
    if (m) {
      i = skipCfws(value, i + m[0].length);
      while (i < value.length && /[0-9]/.test(value[i])) i++;
      i = skipCfws(value, i);
      if (value[i] === ';') i = skipCfws(value, i + 1);
    }
  }
  let id = '';
  if (value[i] === '"') {
    for (i++; i < value.length && value[i] !== '"'; i++) id += value[i] === '\\' ? (value[++i] ?? '') : value[i];
  } else {
    // A token (RFC 2045 section 5.1) ends at white space or a tspecial: "mx.example.org/x" names us too.
    const m = /^[^\s()<>@,;:\\"/[\]?=]*/.exec(value.slice(i));
    id = m ? m[0] : '';
  }
  return id.toLowerCase();
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
 * The message without Authentication-Results fields whose authserv-id is ours, and without X-Spam-*
 * fields from outside (ours are the only ones a reader should see). Returns the same buffer when there
 * is none.
 */
export function stripOwnAuthResults(raw: Buffer, authservId: string): Buffer {
  const ours = authservId.toLowerCase();
  return dropFields(raw, (name, value) => {
    // Every X-Spam-* field from outside (Flag, Score, Status, Level, Report, ...), as SpamAssassin removes
    // them: clients and Sieve scripts read them as the verdict.
    if (name.startsWith('x-spam-')) return true;
    // Not ARC-Authentication-Results: every later ARC-Seal signed them (RFC 8617 sections 5.1.1, 5.2), so
    // removing one breaks the chain, ours from an earlier pass included; an AAR is trusted only through
    // its sealer's d= (spam.auth.arc_trusted_sealers), never its authserv-id.
    if (name !== 'authentication-results') return false;
    return authservIdOf(value, false) === ours;
  });
}

/** "Authentication-Results: <value>\r\n" (the value already folded with CRLF + white space). */
export function authResultsField(value: string): string {
  return `Authentication-Results: ${value}\r\n`;
}
