// Sending a message for RETR and TOP: CRLF lines, byte-stuffed, "." at the end (RFC 1939 section 3). Small
// messages are read whole and sent in one write; large ones stream from the blob with backpressure, so a
// RETR never holds a large message in memory and a client that stops reading stalls only itself.
import { DotStuffer, LineBudget, TERMINATOR } from '../../protocol/pop3/dot-stuff.ts';
import { ok } from '../../protocol/pop3/response.ts';
import type { DropMessage } from '../maildrop.ts';
import type { Pop3Session } from '../session.ts';

/** Up to this size a message is read in one piece: one read and one write beat a stream's overhead. */
const WHOLE_MAX = 256 * 1024;

/**
 * Sends message m: all of it (lines === null, RETR) or its header and first `lines` body lines (TOP).
 * Anything that can fail before the first octet (a missing blob) fails before "+OK", as an -ERR.
 */
export async function sendMessage(s: Pop3Session, m: DropMessage, lines: number | null): Promise<void> {
  const src = await s.deps.mail.source(m.rec);
  const prefix = m.rec.prefix ? Buffer.from(m.rec.prefix) : null;
  const plen = prefix?.length ?? 0;
  // For TOP, everything before the body is sent whole; the body passes through the line budget.
  const cut = lines === null ? src.size : Math.min(Math.max(src.root.bodyStart, plen), src.size);
  const budget = lines === null ? null : new LineBudget(lines);
  const head = ok(lines === null ? `${m.size} octets` : 'Top of message follows');
  const st = new DotStuffer();

  if (src.size <= WHOLE_MAX) {
    const all = await src.read();
    const parts: Buffer[] = [Buffer.from(head)];
    if (prefix) parts.push(st.push(all.subarray(0, plen)), st.endSegment());
    parts.push(st.push(all.subarray(plen, cut)));
    if (budget) parts.push(st.push(budget.take(all.subarray(cut))));
    parts.push(st.endSegment(), TERMINATOR);
    await s.send(Buffer.concat(parts));
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
