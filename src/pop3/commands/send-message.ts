// Sending a message for RETR and TOP: CRLF lines, byte-stuffed, "." at the end (RFC 1939 section 3). Small
// messages are read whole and sent in one write; large ones stream from the blob with backpressure, so a
// RETR never holds a large message in memory and a client that stops reading stalls only itself.
import { DotStuffer, LineBudget, lineStartDots, TERMINATOR } from '../../protocol/pop3/dot-stuff.ts';
import { ok } from '../../protocol/pop3/response.ts';
import type { DropMessage } from '../maildrop.ts';
import type { Pop3Session } from '../session.ts';

/** Up to this size a message is read in one piece: one read and one write beat a stream's overhead. */
export const WHOLE_MAX = 256 * 1024;

/**
 * Sends message m: all of it (lines === null, RETR) or its header and first `lines` body lines (TOP).
 * Anything that can fail before the first octet (a missing blob) fails before "+OK", as an -ERR.
 */
export async function sendMessage(s: Pop3Session, n: number, m: DropMessage, lines: number | null): Promise<void> {
  const prefix = m.rec.prefix ? Buffer.from(m.rec.prefix) : null;
  const plen = prefix?.length ?? 0;
  const st = new DotStuffer();

  if (lines === null && m.rec.size <= WHOLE_MAX) {
    // RETR of a small message: read ahead in batches, sent from one buffer of the exact size.
    const all = await s.readAhead!.get(n, m);
    const head = ok(`${m.size} octets`);
    const dots = lineStartDots(all.subarray(0, plen)) + lineStartDots(all.subarray(plen));
    if (dots === 0 && m.size === all.length && endsWithCrlf(all, plen)) {
      // Already CRLF lines (as everything received over SMTP is) and no line starting with ".": the
      // stored bytes go out as they are, no copy.
      await s.send(head);
      await s.send(all);
      await s.send(TERMINATOR);
      return;
    }
    const out = Buffer.allocUnsafe(head.length + m.size + dots + TERMINATOR.length);
    let pos = out.write(head, 0, 'latin1');
    if (prefix) {
      pos = st.copyInto(all.subarray(0, plen), out, pos);
      pos += st.endSegment().copy(out, pos);
    }
    pos = st.copyInto(all.subarray(plen), out, pos);
    pos += st.endSegment().copy(out, pos);
    pos += TERMINATOR.copy(out, pos);
    if (pos !== out.length) throw new Error(`RETR size mismatch: ${pos} != ${out.length}`);
    await s.send(out);
    return;
  }

  const src = await s.deps.mail.source(m.rec);
  // For TOP, everything before the body is sent whole; the body passes through the line budget.
  const cut = lines === null ? src.size : Math.min(Math.max(src.root.bodyStart, plen), src.size);
  const budget = lines === null ? null : new LineBudget(lines);
  const head = ok(lines === null ? `${m.size} octets` : 'Top of message follows');

  if (src.size <= WHOLE_MAX) {
    // TOP of a small message: one buffer with room for the worst case (every octet doubled).
    const all = await src.read();
    const out = Buffer.allocUnsafe(head.length + 2 * all.length + 8);
    let pos = out.write(head, 0, 'latin1');
    if (prefix) {
      pos = st.copyInto(all.subarray(0, plen), out, pos);
      pos += st.endSegment().copy(out, pos);
    }
    pos = st.copyInto(all.subarray(plen, cut), out, pos);
    if (budget) pos = st.copyInto(budget.take(all.subarray(cut)), out, pos);
    pos += st.endSegment().copy(out, pos);
    pos += TERMINATOR.copy(out, pos);
    await s.send(out.subarray(0, pos));
    return;
  }

  const first = await src.stream(plen, cut);
  s.midResponse = true;
  try {
    await s.send(head);
    if (prefix) await s.send(Buffer.concat([st.push(prefix), st.endSegment()]));
    for await (const chunk of first) {
      if (s.conn.closed) break;
      await s.send(st.push(chunk as Buffer));
    }
    if (budget && !budget.done && !s.conn.closed) {
      for await (const chunk of await src.stream(cut)) {
        const part = budget.take(chunk as Buffer);
        if (part.length) await s.send(st.push(part));
        if (budget.done || s.conn.closed) break;
      }
    }
    await s.send(Buffer.concat([st.endSegment(), TERMINATOR]));
    s.midResponse = false;
  } finally {
    // On an error midResponse stays set: the session then ends the connection instead of answering.
    first.destroy();
  }
}

/** Both segments (prefix, then body) end with CRLF, or are empty: nothing to add at their ends. */
function endsWithCrlf(all: Buffer, plen: number): boolean {
  const endsOk = (end: number, start: number) => end === start || (all[end - 2] === 13 && all[end - 1] === 10);
  return endsOk(plen, 0) && endsOk(all.length, plen);
}
