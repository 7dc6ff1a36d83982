// The SMTP/LMTP command table: verb -> where it is offered -> states it is valid in -> handler.
import { type Reply, reply } from '../protocol/smtp/reply.ts';
import { auth } from './commands/auth.ts';
import { bdat } from './commands/bdat.ts';
import { data } from './commands/data.ts';
import { ehlo, helo, lhlo } from './commands/ehlo.ts';
import { help } from './commands/help.ts';
import { mail } from './commands/mail.ts';
import { noop } from './commands/noop.ts';
import { quit } from './commands/quit.ts';
import { rcpt } from './commands/rcpt.ts';
import { rset } from './commands/rset.ts';
import { starttls } from './commands/starttls.ts';
import { expn, vrfy } from './commands/vrfy.ts';
import type { SmtpSession } from './session.ts';
import type { SmtpKind, SmtpState } from './types.ts';

export type Handler = (s: SmtpSession, arg: string) => Promise<void> | void;

export interface CommandSpec {
  kinds: SmtpKind[];
  states: SmtpState[];
  handler: Handler;
}

const SMTP: SmtpKind[] = ['mx', 'submission'];
const ALL_KINDS: SmtpKind[] = ['mx', 'submission', 'lmtp'];
const ANY: SmtpState[] = ['start', 'hello', 'mail', 'rcpt', 'bdat'];
// Outside a BDAT sequence: RFC 3030 section 2 allows only BDAT, RSET, QUIT (and NOOP) between chunks.
const NOT_BDAT: SmtpState[] = ['start', 'hello', 'mail', 'rcpt'];

export const COMMANDS: Record<string, CommandSpec> = {
  EHLO: { kinds: SMTP, states: NOT_BDAT, handler: ehlo }, // RFC 5321 section 4.1.1.1
  HELO: { kinds: SMTP, states: NOT_BDAT, handler: helo },
  LHLO: { kinds: ['lmtp'], states: NOT_BDAT, handler: lhlo }, // RFC 2033 section 4.1
  STARTTLS: { kinds: SMTP, states: ['hello'], handler: starttls }, // RFC 3207
  AUTH: { kinds: SMTP, states: ['hello'], handler: auth }, // RFC 4954
  MAIL: { kinds: ALL_KINDS, states: ['hello'], handler: mail }, // RFC 5321 section 4.1.1.2
  RCPT: { kinds: ALL_KINDS, states: ['mail', 'rcpt'], handler: rcpt }, // section 4.1.1.3
  DATA: { kinds: ALL_KINDS, states: ['mail', 'rcpt'], handler: data }, // section 4.1.1.4
  BDAT: { kinds: ALL_KINDS, states: ANY, handler: bdat }, // RFC 3030 (checks its state itself: it must drain)
  RSET: { kinds: ALL_KINDS, states: ANY, handler: rset }, // section 4.1.1.5
  NOOP: { kinds: ALL_KINDS, states: ANY, handler: noop }, // section 4.1.1.9
  QUIT: { kinds: ALL_KINDS, states: ANY, handler: quit }, // section 4.1.1.10
  VRFY: { kinds: ALL_KINDS, states: NOT_BDAT, handler: vrfy }, // section 4.1.1.6
  EXPN: { kinds: ALL_KINDS, states: NOT_BDAT, handler: expn }, // section 4.1.1.7
  HELP: { kinds: ALL_KINDS, states: NOT_BDAT, handler: help }, // section 4.1.1.8
};

/** 503 with a hint of what comes first (RFC 5321 section 4.1.4 order). */
export function wrongState(s: SmtpSession, verb: string): Reply {
  if (s.state === 'bdat') return reply(503, '5.5.1', 'Only BDAT, RSET, NOOP or QUIT during a BDAT transfer');
  if (s.state === 'start') return reply(503, '5.5.1', `Send ${s.kind === 'lmtp' ? 'LHLO' : 'EHLO/HELO'} first`);
  if (verb === 'MAIL') return reply(503, '5.5.1', 'Nested MAIL command');
  if (verb === 'RCPT' || verb === 'DATA') return reply(503, '5.5.1', 'Need MAIL command first');
  return reply(503, '5.5.1', 'Bad sequence of commands');
}
