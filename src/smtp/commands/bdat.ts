// BDAT size [LAST] (RFC 3030 section 2): the chunk is always read, whatever the state, so the session
// stays in step (a BDAT whose size cannot be read ends the session); each chunk gets a reply, the LAST one
// the delivery result (a bare LF or CR in the text refused or made CRLF there, as smtp.bare_lf says for
// DATA; its longest line measured, as DATA's decoder measures it, over the header section only for
// BINARYMIME).
import { parseBdat } from '../../protocol/smtp/command.ts';
import { bareLineEnds, crlfLineEnds, longestLine } from '../../protocol/smtp/line-ends.ts';
import { reply } from '../../protocol/smtp/reply.ts';
import { emptyContent, readBdatChunk } from '../data.ts';
import { finishMessage } from '../deliver.ts';
import type { SmtpSession } from '../session.ts';

export async function bdat(s: SmtpSession, arg: string): Promise<void> {
  const p = parseBdat(arg);
  // Without a size the chunk cannot be skipped, and its octets would be read as commands (message content
  // run as SMTP commands). So the session ends here, as Postfix ends it; 421 is the reply RFC 5321 section
  // 3.8 allows before the server closes.
  if (!p.ok) {
    s.reply(reply(421, '4.5.4', `${s.deps.hostname} Syntax: BDAT <size> [LAST], closing connection`));
    return s.close();
  }
  const { size, last } = p.value;
  const tx = s.tx;
  if (!tx || (s.state !== 'mail' && s.state !== 'rcpt' && s.state !== 'bdat')) {
    await drain(s, size);
    return s.reply(reply(503, '5.5.1', s.state === 'start' ? 'Send EHLO first' : 'Need MAIL command first'));
  }
  if (tx.rcpts.length === 0) {
    await drain(s, size);
    s.resetTransaction();
    return s.reply(reply(554, '5.5.1', 'No valid recipients'));
  }
  const c = tx.content;
  await readBdatChunk(s, size, c);
  if (c.over) {
    // The transaction fails now; the client must not send more chunks (RFC 3030 section 2).
    s.resetTransaction();
    return s.reply(reply(552, '5.3.4', 'Message size exceeds fixed maximum message size'));
  }
  if (!last) {
    s.state = 'bdat';
    return s.reply(reply(250, '2.0.0', `${size} octets received`));
  }
  // The whole message is in: its line ends, as DATA's decoder checks them on the way (smtp.bare_lf).
  const raw = c.chunks.length === 1 ? c.chunks[0] : Buffer.concat(c.chunks, c.size);
  const binary = tx.params.body === 'BINARYMIME';
  if (s.deps.limits.bare_lf === 'normalise') {
    const fixed = crlfLineEnds(raw, binary);
    return finishMessage(s, {
      chunks: [fixed],
      size: fixed.length,
      over: false,
      longestLine: longestLine(fixed, binary),
    });
  }
  const bare = bareLineEnds(raw, binary);
  await finishMessage(s, {
    chunks: [raw],
    size: raw.length,
    over: false,
    bareLf: bare.lf,
    bareCr: bare.cr,
    longestLine: longestLine(raw, binary),
  });
}

async function drain(s: SmtpSession, n: number): Promise<void> {
  await readBdatChunk(s, n, { ...emptyContent(), over: true });
}
