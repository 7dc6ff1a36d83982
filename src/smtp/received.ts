// Trace header fields added on the way in: Received (RFC 5321 section 4.4, with-protocol names from
// RFC 3848 and RFC 6531 section 3.7.3), Return-Path (section 4.4) and Delivered-To (per recipient).
import type { TLSSocket } from 'node:tls';
import { rfc5322Date } from '../mime/date.ts';
import type { SmtpSession } from './session.ts';

/**
 * The "with" protocol: SMTP, ESMTP, LMTP, each with S (TLS) and A (authenticated) suffixes (RFC 3848),
 * UTF8 prefix when SMTPUTF8 was used (RFC 6531 section 3.7.3: UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA).
 */
export function withProtocol(opts: {
  lmtp: boolean;
  esmtp: boolean;
  tls: boolean;
  auth: boolean;
  utf8: boolean;
}): string {
  const suffix = (opts.tls ? 'S' : '') + (opts.auth ? 'A' : '');
  if (opts.lmtp) return `${opts.utf8 ? 'UTF8' : ''}LMTP${suffix}`;
  if (opts.utf8) return `UTF8SMTP${suffix}`;
  if (!opts.esmtp && !suffix) return 'SMTP';
  return `ESMTP${suffix}`;
}

/** The Received field for a message of this session's transaction; "for" only with one recipient. */
export function receivedHeader(s: SmtpSession, now: number): string {
  const tx = s.tx!;
  const ip = s.conn.remoteAddress;
  const literal = ip.includes(':') ? `IPv6:${ip}` : ip;
  const proto = withProtocol({
    lmtp: s.kind === 'lmtp',
    esmtp: s.esmtp,
    tls: s.secure,
    auth: !!s.account,
    utf8: tx.params.smtpUtf8,
  });
  let h = `Received: from ${s.helo} ([${literal}])\r\n\tby ${s.deps.hostname} (Petrel) with ${proto} id ${s.id}.${tx.seq}\r\n`;
  if (s.secure) {
    const sock = s.conn.socket as TLSSocket;
    const cipher = sock.getCipher?.();
    h += `\t(version=${sock.getProtocol?.() ?? 'TLS'} cipher=${cipher?.standardName ?? cipher?.name ?? 'unknown'})\r\n`;
  }
  if (s.account) h += `\t(authenticated as ${s.account.address})\r\n`;
  if (tx.rcpts.length === 1) h += `\tfor <${tx.rcpts[0].address}>;`;
  else h = `${h.slice(0, -2)};`;
  return `${h} ${rfc5322Date(now)}\r\n`;
}

/** Return-Path (RFC 5321 section 4.4): the reverse-path, added at final delivery. */
export function returnPath(from: string | null): string {
  return `Return-Path: <${from ?? ''}>\r\n`;
}

/** Delivered-To: the account a copy was delivered to (per recipient: the message's `prefix`). */
export function deliveredTo(address: string): string {
  return `Delivered-To: ${address}\r\n`;
}
