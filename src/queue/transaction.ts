// One mail transaction on an open session (RFC 5321 section 3.3): MAIL with the extension parameters the
// message needs and the server offers, RCPT per recipient (pipelined), then DATA or BDAT.
import type { QueuedMessage, QueuedRecipient, QueueEntry } from '../core/ports.ts';
import { encodeXtext, formatReply, isAscii, orcptParam, type Reply } from '../protocol/smtp-client/reply.ts';
import type { Outcome } from './policy.ts';
import type { SmtpClient } from './smtp-client.ts';

const positive = (r: Reply) => r.code >= 200 && r.code < 300;

function fromReply(r: Reply, remoteMta: string, remoteDsn: boolean): Outcome {
  const reply = formatReply(r);
  if (r.code >= 200 && r.code < 300) return { kind: 'sent', reply, remoteMta, remoteDsn };
  if (r.code >= 400 && r.code < 500) return { kind: 'deferred', reply, status: r.enhanced ?? '4.0.0', remoteMta };
  if (r.code >= 500) return { kind: 'failed', reply, status: r.enhanced ?? '5.0.0', remoteMta };
  // A 3xx where only DATA may have one (RFC 5321 section 4.3.2): a confused server, not a refusal.
  return { kind: 'deferred', reply: `unexpected reply: ${reply}`, status: '4.5.0', remoteMta };
}

/** Why this server cannot take the message at all (size, 8-bit, UTF-8), checked before MAIL. */
function refusal(m: QueuedMessage, rcpts: QueuedRecipient[], content: Buffer, caps: Map<string, string[]>) {
  const limit = Number(caps.get('SIZE')?.[0] ?? 0);
  if (limit > 0 && content.length > limit)
    return {
      status: '5.3.4',
      text: `message of ${content.length} octets is larger than the server's limit of ${limit}`,
    };
  if (m.bodyType === 'BINARYMIME' && !(caps.has('BINARYMIME') && caps.has('CHUNKING')))
    return { status: '5.6.3', text: 'binary content and the server has no BINARYMIME' };
  // RFC 6152 section 3: 8-bit content must not go to a server without 8BITMIME (we do not downgrade).
  if (!caps.has('8BITMIME') && !isAscii(content))
    return { status: '5.6.3', text: '8-bit content and the server has no 8BITMIME' };
  // RFC 6531 section 3.2: an internationalised message (UTF-8 in the envelope or the header section, RFC
  // 6530 section 4.2) is never sent to a server without SMTPUTF8; it bounces with 5.6.7, as Postfix bounces
  // it (no downgrade). Only the SMTPUTF8 flag with an all-ASCII envelope and header needs nothing of it.
  if (!caps.has('SMTPUTF8') && !(isAscii(m.from) && rcpts.every((r) => isAscii(r.address))))
    return { status: '5.6.7', text: 'internationalised address and the server has no SMTPUTF8' };
  if (!caps.has('SMTPUTF8') && !isAscii(headerSection(content)))
    return { status: '5.6.7', text: 'internationalised (UTF-8) header fields and the server has no SMTPUTF8' };
  return null;
}

/** The header section of queued content (CRLF line ends): up to the empty line, or all of it. */
function headerSection(content: Buffer): Buffer {
  if (content[0] === 13 && content[1] === 10) return content.subarray(0, 0);
  const end = content.indexOf('\r\n\r\n');
  return end < 0 ? content : content.subarray(0, end);
}

/** MAIL FROM parameters (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531, RFC 3461 RET/ENVID, RFC 8689). */
function mailParams(
  m: QueuedMessage,
  rcpts: QueuedRecipient[],
  size: number,
  content: Buffer,
  caps: Map<string, string[]>,
): string {
  const p: string[] = [];
  if (caps.has('SIZE')) p.push(`SIZE=${size}`);
  if (m.bodyType === 'BINARYMIME') p.push('BODY=BINARYMIME');
  else if (caps.has('8BITMIME') && (m.bodyType === '8BITMIME' || !isAscii(content))) p.push('BODY=8BITMIME');
  // RFC 6531 section 3.4: whatever the message was queued with, UTF-8 in the envelope or the header section
  // (a DSN to an internationalised sender, say) needs the parameter.
  const utf8 =
    m.smtpUtf8 || !isAscii(m.from) || rcpts.some((r) => !isAscii(r.address)) || !isAscii(headerSection(content));
  if (utf8 && caps.has('SMTPUTF8')) p.push('SMTPUTF8');
  if (caps.has('DSN')) {
    if (m.ret) p.push(`RET=${m.ret}`);
    if (m.envId) p.push(`ENVID=${encodeXtext(m.envId)}`);
  }
  if (m.requireTls && caps.has('REQUIRETLS')) p.push('REQUIRETLS');
  return p.length ? ` ${p.join(' ')}` : '';
}

function rcptParams(r: QueuedRecipient, caps: Map<string, string[]>): string {
  if (!caps.has('DSN')) return '';
  const p: string[] = [];
  if (r.notify) p.push(`NOTIFY=${r.notify === 'NEVER' ? 'NEVER' : r.notify.join(',')}`);
  if (r.orcpt) p.push(`ORCPT=${orcptParam(r.orcpt)}`);
  return p.length ? ` ${p.join(' ')}` : '';
}

/**
 * Runs the transaction and returns an outcome per recipient. Throws (SmtpSessionError) when the connection
 * fails; the caller then treats the recipients without an outcome as not delivered.
 */
export async function transact(
  c: SmtpClient,
  e: QueueEntry,
  remoteMta: string,
  content: (m: QueuedMessage) => Promise<Buffer>,
): Promise<Map<number, Outcome>> {
  const m = e.message;
  const out = new Map<number, Outcome>();
  const data = await content(m);
  const no = refusal(m, e.recipients, data, c.caps);
  if (no) {
    for (const r of e.recipients) out.set(r.id, { kind: 'failed', reply: no.text, status: no.status, remoteMta });
    return out;
  }
  const remoteDsn = c.caps.has('DSN');
  const lines = [
    `MAIL FROM:<${m.from}>${mailParams(m, e.recipients, data.length, data, c.caps)}`,
    ...e.recipients.map((r) => `RCPT TO:<${r.address}>${rcptParams(r, c.caps)}`),
  ];
  const [mail, ...rcpts] = await c.pipeline(lines);
  // RFC 5321 section 4.2.1: the first digit decides; any 2xx accepts (as Postfix reads it), and a 2xx
  // other than 250 must not end the transaction as if it had been delivered.
  if (!positive(mail)) {
    for (const r of e.recipients) out.set(r.id, fromReply(mail, remoteMta, remoteDsn));
    return out;
  }
  const accepted: QueuedRecipient[] = [];
  e.recipients.forEach((r, i) => {
    // Missing replies: the server said 421 and went away; that reply answers the rest.
    const rr = rcpts[i] ?? rcpts[rcpts.length - 1] ?? mail;
    if (positive(rr)) accepted.push(r);
    else out.set(r.id, fromReply(rr, remoteMta, remoteDsn));
  });
  if (accepted.length === 0 || !c.usable) {
    for (const r of accepted) out.set(r.id, fromReply(rcpts[rcpts.length - 1], remoteMta, remoteDsn));
    return out;
  }
  // CHUNKING (RFC 3030) sends the octets as they are; DATA needs dot-stuffing.
  const final = c.caps.has('CHUNKING') ? await c.bdat(data) : await c.data(data);
  for (const r of accepted) out.set(r.id, fromReply(final, remoteMta, remoteDsn));
  return out;
}
