// Delivery status notifications (RFC 3464): a multipart/report with a human explanation, the
// message/delivery-status fields per message and per recipient, and the original message or its header.
import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '../mime/date.ts';
import { isAscii } from '../protocol/smtp-client/reply.ts';
import type { ReportAction } from './policy.ts';

/** RFC 3464 section 2.3.3 actions: the queue's, and "delivered" for a local mailbox (RFC 3461 section 5.2.3). */
export type DsnAction = ReportAction | 'delivered';

export interface DsnRecipient {
  address: string;
  /** ORCPT as "addr-type;address" (decoded), if the sender gave one. */
  orcpt: string | null;
  action: DsnAction;
  /** Enhanced status code, e.g. 5.1.1 (RFC 3463). */
  status: string;
  remoteMta: string | null;
  /** The last SMTP reply ("550 5.1.1 ...") or our own explanation. */
  diagnostic: string | null;
  lastAttempt: number | null;
  willRetryUntil: number | null;
}

export interface DsnInput {
  /** This server's host name (Reporting-MTA, the From address's domain). */
  reportingMta: string;
  /** The original envelope sender: the DSN's recipient. */
  to: string;
  envId: string | null;
  arrivalDate: number;
  recipients: DsnRecipient[];
  original: Buffer;
  /** FULL returns the whole message, HDRS only its header (RFC 3461 section 4.3). */
  ret: 'FULL' | 'HDRS';
  now: number;
  queueId: string;
}

/** A header field value on one line: no CR/LF, bounded. */
const oneLine = (s: string, max = 900) => s.replace(/[\r\n]+/g, ' ').slice(0, max);

/** The header block of a message (up to and including the blank line), or the whole of it when it has none. */
export function headerOf(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n');
  return end >= 0 ? raw.subarray(0, end + 4) : raw;
}

const SUBJECTS: Record<DsnAction, string> = {
  failed: 'Undelivered Mail Returned to Sender',
  delayed: 'Delayed Mail (still being retried)',
  relayed: 'Successful Mail Delivery Report',
  delivered: 'Successful Mail Delivery Report',
};

function explanation(i: DsnInput, worst: DsnAction): string {
  const lines: string[] = [];
  if (worst === 'failed')
    lines.push('Your message could not be delivered to one or more recipients. It is attached below.', '');
  else if (worst === 'delayed')
    lines.push(
      'Your message has not been delivered yet to one or more recipients. Delivery is still being retried;',
      'you do not need to send it again.',
      '',
    );
  else if (worst === 'relayed')
    lines.push('Your message was handed over to the next mail server for these recipients.', '');
  else lines.push("Your message was delivered to these recipients' mailboxes.", '');
  for (const r of i.recipients) {
    lines.push(`<${r.address}>: ${r.action}${r.diagnostic ? `: ${oneLine(r.diagnostic, 300)}` : ''}`);
    if (r.action === 'delayed' && r.willRetryUntil)
      lines.push(`    will be retried until ${rfc5322Date(r.willRetryUntil)}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Splits "rfc822;addr" into its type and address; a bare address is rfc822. */
function typed(value: string): [string, string] {
  const semi = value.indexOf(';');
  return semi > 0 ? [value.slice(0, semi).trim(), value.slice(semi + 1).trim()] : ['rfc822', value];
}

/** Builds the DSN message (CRLF line ends), From MAILER-DAEMON@<reportingMta>, To the original sender. */
export function buildDsn(i: DsnInput): Buffer {
  const order: DsnAction[] = ['failed', 'delayed', 'relayed', 'delivered'];
  const worst = order.find((a) => i.recipients.some((r) => r.action === a)) ?? 'failed';
  const boundary = `=_petrel_${randomBytes(9).toString('base64url')}`;
  // Internationalised addresses need the RFC 6533 types; everything else stays plain US-ASCII.
  const global = !i.recipients.every((r) => isAscii(r.address) && isAscii(r.orcpt ?? ''));
  const addrType = global ? 'utf-8' : 'rfc822';
  const perMessage = [
    ...(i.envId ? [`Original-Envelope-Id: ${oneLine(i.envId, 100)}`] : []),
    `Reporting-MTA: dns; ${i.reportingMta}`,
    `X-Petrel-Queue-ID: ${i.queueId}`,
    `Arrival-Date: ${rfc5322Date(i.arrivalDate)}`,
  ];
  const perRecipient = i.recipients.map((r) => {
    const f: string[] = [];
    if (r.orcpt) {
      const [t, a] = typed(r.orcpt);
      f.push(`Original-Recipient: ${t}; ${oneLine(a, 300)}`);
    }
    f.push(`Final-Recipient: ${addrType}; ${r.address}`, `Action: ${r.action}`, `Status: ${r.status}`);
    if (r.remoteMta) f.push(`Remote-MTA: dns; ${r.remoteMta}`);
    if (r.diagnostic)
      f.push(`Diagnostic-Code: ${/^\d{3}[ -]/.test(r.diagnostic) ? 'smtp' : 'X-Petrel'}; ${oneLine(r.diagnostic)}`);
    if (r.lastAttempt) f.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttempt)}`);
    if (r.willRetryUntil && r.action === 'delayed') f.push(`Will-Retry-Until: ${rfc5322Date(r.willRetryUntil)}`);
    return f.join('\r\n');
  });
  // RFC 6533 section 4: an internationalised message (UTF-8 in its header section) comes back as
  // message/global or message/global-headers; message/rfc822 and text/rfc822-headers are ASCII only.
  const globalReturn = global || !isAscii(headerOf(i.original));
  const returned =
    i.ret === 'FULL'
      ? { type: globalReturn ? 'message/global' : 'message/rfc822', body: i.original }
      : { type: globalReturn ? 'message/global-headers' : 'text/rfc822-headers', body: headerOf(i.original) };
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${i.reportingMta}>`,
    `To: <${i.to}>`,
    `Subject: ${SUBJECTS[worst]}`,
    `Date: ${rfc5322Date(i.now)}`,
    `Message-ID: <${i.queueId}.${randomBytes(6).toString('hex')}@${i.reportingMta}>`,
    // RFC 3834 section 5: an automatic reply, so auto-responders leave it alone.
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated delivery status notification.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    explanation(i, worst),
    `--${boundary}`,
    `Content-Type: ${global ? 'message/global-delivery-status' : 'message/delivery-status'}`,
    '',
    `${perMessage.join('\r\n')}\r\n`,
    ...perRecipient.map((f) => `${f}\r\n`),
    `--${boundary}`,
    `Content-Type: ${returned.type}`,
    '',
    '',
  ].join('\r\n');
  const body = returned.body;
  const tail = `${body.length && !body.subarray(-2).equals(Buffer.from('\r\n')) ? '\r\n' : ''}\r\n--${boundary}--\r\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), body, Buffer.from(tail)]);
}
