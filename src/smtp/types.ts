// Shapes shared by the SMTP/LMTP session, its command handlers and delivery.

import type { AuthService } from '../auth/service.ts';
import type { Config } from '../config/schema.ts';
import type { Account } from '../core/model.ts';
import type { OutboundQueue } from '../core/ports.ts';
import type { DirectoryService } from '../directory/service.ts';
import type { MailService } from '../mailbox/service.ts';
import type { ServerTls } from '../net/tls.ts';
import type { MailParams, RcptParams } from '../protocol/smtp/params.ts';
import type { SmtpAddress } from '../protocol/smtp/path.ts';
/** mx: mail from the internet (no AUTH); submission: users (AUTH required); lmtp: RFC 2033 local delivery. */
import type { IncomingReports } from '../reports/incoming/service.ts';
import type { InboundFilter } from '../spam/inbound.ts';
import type { OutboundScan } from '../spam/outbound.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Content } from './data.ts';
import type { SendLimits } from './send-limits.ts';
import type { Srs } from './srs.ts';

export type SmtpKind = 'mx' | 'submission' | 'lmtp';

/** What a session needs from the rest of the server; the listener builds it from the App. */
export interface SmtpDeps {
  mail: MailService;
  directory: DirectoryService;
  /** Sign-in decisions (src/auth/service.ts). */
  auth: AuthService;
  outbound: OutboundQueue;
  hostname: string;
  /** Domain whose postmaster receives "RCPT TO:<Postmaster>" (RFC 5321 section 4.5.1). */
  postmasterDomain: string;
  limits: Config['smtp'];
  /** Whether an address is in smtp.trusted_networks. */
  trusted: (ip: string) => boolean;
  tls: () => Promise<ServerTls>;
  log: Logger;
  /** The spam filter for mail from the internet (kind 'mx', not authenticated, not trusted); absent: none. */
  spam?: InboundFilter;
  /**
   * The virus scan of mail from authenticated users and trusted networks (spam.antivirus.scan_submission):
   * a reply refusing or deferring the message, or null; absent: off. Mail from the internet is scanned in
   * the spam pipeline instead.
   */
  virusScan?: (raw: Buffer) => Promise<{ code: number; enhanced: string; text: string } | null>;
  /** The content scan of mail from authenticated users and trusted networks (spam.outbound); absent: off. */
  outboundScan?: OutboundScan;
  /** Sending limits of authenticated accounts (smtp.send_limit_*); absent: none. */
  sendLimits?: SendLimits;
  /** Sender rewriting for forwarded mail and its bounces (smtp.srs); absent: off. */
  srs?: Srs;
  /** Reads DMARC and TLS reports about our domains from delivered mail (smtp.read_reports); absent: off. */
  reports?: IncomingReports;
}

/** start: before HELO/EHLO/LHLO; hello: no transaction; mail: MAIL given; rcpt: 1+ recipients; bdat: chunks coming. */
export type SmtpState = 'start' | 'hello' | 'mail' | 'rcpt' | 'bdat';

export interface Recipient {
  /** The forward-path as given (for Received "for" and replies). */
  address: string;
  /** Local accounts this recipient resolves to (aliases, groups, +tag, catch-all), each once. */
  accounts: Account[];
  /** Addresses elsewhere: the recipient itself when relayed, or where its aliases forward. */
  remote: string[];
  params: RcptParams;
  /** A spam trap (spam.traps): accepted, stored nowhere (accounts and remote are empty). */
  trap?: boolean;
}

export interface Transaction {
  /** Reverse-path; null is the null sender "<>". */
  from: SmtpAddress | null;
  params: MailParams;
  rcpts: Recipient[];
  /** What BDAT chunks brought so far (RFC 3030). */
  content: Content;
  /** Number of this transaction in the session, for the Received id. */
  seq: number;
}
