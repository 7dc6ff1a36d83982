// Bounds on a message's header section, checked once the content is in and before anything parses it:
// its size and number of lines (header parsers, DKIM/DMARC verification included, cost grows faster than
// the number of lines), and the Received fields that betray a mail loop (RFC 5321 section 6.3).
import { type Reply, reply } from '../protocol/smtp/reply.ts';

export interface HeaderShape {
  /** Octets of the header section, up to and including the blank line (the whole message if none). */
  size: number;
  /** Physical lines of the header section (folded continuation lines count). */
  lines: number;
  /** Received fields. */
  received: number;
}

const RECEIVED = Buffer.from('received:');

/** Whether the line starting at `at` begins a Received field (name case-insensitive). */
function isReceived(raw: Buffer, at: number): boolean {
  if (at + RECEIVED.length > raw.length) return false;
  for (let i = 0; i < RECEIVED.length; i++) {
    const c = raw[at + i] | (raw[at + i] >= 65 && raw[at + i] <= 90 ? 0x20 : 0);
    if (c !== RECEIVED[i]) return false;
  }
  return true;
}

/**
 * The shape of the header section, by one scan of its lines; stops at the blank line, or early once
 * `stopAfterLines` is passed (the caller refuses the message then, whatever the rest holds).
 */
export function headerShape(raw: Buffer, stopAfterLines = Number.POSITIVE_INFINITY): HeaderShape {
  let at = 0;
  let lines = 0;
  let received = 0;
  while (at < raw.length) {
    const lf = raw.indexOf(10, at);
    const end = lf < 0 ? raw.length : lf + 1;
    const blank = end - at === 2 ? raw[at] === 13 : end - at === 1 && lf >= 0;
    if (blank) return { size: end, lines, received };
    lines++;
    if (isReceived(raw, at)) received++;
    if (lines > stopAfterLines) break;
    at = end;
  }
  return { size: at, lines, received };
}

export interface HeaderLimits {
  max_header_size: number;
  max_header_lines: number;
  max_received: number;
}

/** The refusal for a header section past the limits, or null when it is within them. */
export function headerLimitReply(raw: Buffer, limits: HeaderLimits): Reply | null {
  const shape = headerShape(raw, limits.max_header_lines);
  if (shape.size > limits.max_header_size || shape.lines > limits.max_header_lines)
    return reply(552, '5.3.4', 'Message header section too large');
  // RFC 5321 section 6.3: a count of Received fields past a generous threshold means a loop.
  if (shape.received > limits.max_received) return reply(554, '5.4.6', 'Too many Received fields: mail loop detected');
  return null;
}
