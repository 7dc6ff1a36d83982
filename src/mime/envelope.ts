// Builds the IMAP ENVELOPE (RFC 3501 section 7.4.2, RFC 9051 section 7.5.2) from a header's fields.
import { parseAddressList } from './address.ts';
import type { HeaderField } from './header.ts';
import type { Envelope, EnvelopeAddress } from './types.ts';

const WANTED = new Set([
  'date',
  'subject',
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'in-reply-to',
  'message-id',
]);

function addresses(value: string | undefined): EnvelopeAddress[] | null {
  if (value === undefined) return null;
  const list = parseAddressList(value);
  return list.length > 0 ? list : null;
}

/** ENVELOPE from raw (unfolded, undecoded) values; the first occurrence of each field counts. */
export function buildEnvelope(fields: HeaderField[]): Envelope {
  const first = new Map<string, string>();
  for (const f of fields) {
    const name = f.name.toLowerCase();
    if (WANTED.has(name) && !first.has(name)) first.set(name, f.value);
  }
  const from = addresses(first.get('from'));
  // RFC 3501 7.4.2: an absent or empty Sender or Reply-To takes the value of From.
  const sender = addresses(first.get('sender')) ?? (from && [...from]);
  const replyTo = addresses(first.get('reply-to')) ?? (from && [...from]);
  return {
    date: first.get('date') ?? null,
    subject: first.get('subject') ?? null,
    from,
    sender,
    replyTo,
    to: addresses(first.get('to')),
    cc: addresses(first.get('cc')),
    bcc: addresses(first.get('bcc')),
    inReplyTo: first.get('in-reply-to') ?? null,
    messageId: first.get('message-id') ?? null,
  };
}
