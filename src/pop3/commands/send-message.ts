// Sending a message for RETR and TOP: CRLF lines, byte-stuffed, "." at the end (RFC 1939 section 3). Small
// messages are read whole and sent in one write; large ones stream from the blob with backpressure, so a
// RETR never holds a large message in memory and a client that stops reading stalls only itself. TOP of a
// large message reads only the ranges it sends.
import { DotStuffer, LineBudget, lineStartDots, TERMINATOR } from '../../protocol/pop3/dot-stuff.ts';
import { ok } from '../../protocol/pop3/response.ts';
import type { DropMessage } from '../maildrop.ts';
import type { Pop3Session } from '../session.ts';

/** Up to this size a message is read in one piece: one read and one write beat a stream's overhead. */
export const WHOLE_MAX = 256 * 1024;
/** TOP reads a message up to this size whole, and a larger one's body in windows from this size on. */
const TOP_WINDOW = 64 * 1024;
const TOP_WINDOW_MAX = 16 * 1024 * 1024;

/**
 * Sends message m: all of it (lines === null, RETR) or its header and first `lines` body lines (TOP).
 * Anything that can fail before the first octet (a missing blob) fails before "+OK", as an -ERR.
 */
export async function sendMessage(s: Pop3Session, n: number, m: DropMessage, lines: number | null): Promise<void> {
  if (lines !== null) return sendTop(s, m, lines);
  const prefix = m.rec.prefix ? Buffer.from(m.rec.prefix) : null;
  const plen = prefix?.length ?? 0;
  const st = new DotStuffer();

  if (m.rec.size <= WHOLE_MAX) {
    // RETR of a small message: read ahead in batches, sent from one buffer of the exact size.
    const all = await s.readAhead!.get(n, m);
    const head = ok(`${m.size} octets`);
    const dots = lineStartDots(all.subarray(0, plen)) + lineStartDots(all.subarray(plen));
    if (dots === 0 && m.size === all.length && endsWithCrlf(all, plen)) {
      // Already CRLF lines (as everything received over SMTP is) and no line starting with ".": the
      // stored bytes go out as they are, no copy. Three pieces: a flush between them leaves the response
      // open on the wire.
      s.midResponse = true;
      await s.send(head);
      await s.send(all);
      await s.send(TERMINATOR);
      s.midResponse = false;
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

  // RETR of a large message: streamed from the blob, with backpressure.
  const src = await s.deps.mail.source(m.rec);
  const body = await src.stream(plen);
  s.midResponse = true;
  try {
    await s.send(ok(`${m.size} octets`));
    if (prefix) await s.send(Buffer.concat([st.push(prefix), st.endSegment()]));
    for await (const chunk of body) {
      if (s.conn.closed) break;
      await s.send(st.push(chunk as Buffer));
    }
    await s.send(Buffer.concat([st.endSegment(), TERMINATOR]));
    s.midResponse = false;
  } finally {
    // On an error midResponse stays set: the session then ends the connection instead of answering.
    body.destroy();
  }
}

/**
 * TOP (RFC 1939 section 7): the header section, the blank line, the first `lines` lines of the body. Only
 * that is read: the header section as one range, then the body in windows (TOP_WINDOW, each next one four
 * times larger, up to TOP_WINDOW_MAX) until the lines are there, so `TOP n 0` of a 20 MB message reads its
 * header and nothing else, and a whole body takes a handful of reads.
 */
async function sendTop(s: Pop3Session, m: DropMessage, lines: number): Promise<void> {
  const prefix = m.rec.prefix ? Buffer.from(m.rec.prefix) : null;
  const plen = prefix?.length ?? 0;
  const st = new DotStuffer();
  const budget = new LineBudget(lines);
  const head = ok('Top of message follows');
  const src = await s.deps.mail.source(m.rec);
  // Everything before the body is sent whole; the body passes through the line budget.
  const cut = Math.min(Math.max(src.root.bodyStart, plen), src.size);

  if (src.size <= TOP_WINDOW) {
    // No larger than one window: read whole, one buffer with room for the worst case (every octet doubled).
    const all = await src.read();
    const out = Buffer.allocUnsafe(head.length + 2 * all.length + 8);
    let pos = out.write(head, 0, 'latin1');
    if (prefix) {
      pos = st.copyInto(all.subarray(0, plen), out, pos);
      pos += st.endSegment().copy(out, pos);
    }
    pos = st.copyInto(all.subarray(plen, cut), out, pos);
    pos = st.copyInto(budget.take(all.subarray(cut)), out, pos);
    pos += st.endSegment().copy(out, pos);
    pos += TERMINATOR.copy(out, pos);
    await s.send(out.subarray(0, pos));
    return;
  }

  // Opened before "+OK": a missing blob is still an -ERR.
  const header = await src.stream(plen, cut);
  s.midResponse = true;
  try {
    await s.send(head);
    if (prefix) await s.send(Buffer.concat([st.push(prefix), st.endSegment()]));
    for await (const chunk of header) {
      if (s.conn.closed) break;
      await s.send(st.push(chunk as Buffer));
    }
    let pos = cut;
    let window = TOP_WINDOW;
    while (!budget.done && pos < src.size && !s.conn.closed) {
      const end = Math.min(src.size, pos + window);
      // Leaving the loop early (budget spent, client gone) destroys the window's stream.
      for await (const chunk of await src.stream(pos, end)) {
        const part = budget.take(chunk as Buffer);
        if (part.length) await s.send(st.push(part));
        if (budget.done || s.conn.closed) break;
      }
      pos = end;
      window = Math.min(window * 4, TOP_WINDOW_MAX);
    }
    await s.send(Buffer.concat([st.endSegment(), TERMINATOR]));
    s.midResponse = false;
  } finally {
    // On an error midResponse stays set: the session then ends the connection instead of answering.
    header.destroy();
  }
}

/** Both segments (prefix, then body) end with CRLF, or are empty: nothing to add at their ends. */
function endsWithCrlf(all: Buffer, plen: number): boolean {
  const endsOk = (end: number, start: number) => end === start || (all[end - 2] === 13 && all[end - 1] === 10);
  return endsOk(plen, 0) && endsOk(all.length, plen);
}
