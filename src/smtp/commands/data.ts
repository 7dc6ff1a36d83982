// DATA (RFC 5321 section 4.1.1.4): 354, the dot-terminated content, then one reply (LMTP: one per
// recipient, RFC 2033 section 4.2) sent only after the message is on disk.
import { reply } from '../../protocol/smtp/reply.ts';
import { readDotData } from '../data.ts';
import { finishMessage } from '../deliver.ts';
import type { SmtpSession } from '../session.ts';

export async function data(s: SmtpSession, arg: string): Promise<void> {
  if (arg.trim() !== '') return s.reply(reply(501, '5.5.4', 'DATA takes no argument'));
  // RFC 2920 section 3.1: recipients all refused while pipelining: 554, the client sends no content.
  if (s.state !== 'rcpt') return s.reply(reply(554, '5.5.1', 'No valid recipients'));
  // RFC 3030 section 3: BINARYMIME content can only come by BDAT.
  if (s.tx!.params.body === 'BINARYMIME') return s.reply(reply(503, '5.5.1', 'BODY=BINARYMIME needs BDAT'));
  s.reply(reply(354, '', 'Start mail input; end with <CRLF>.<CRLF>'));
  await s.flush();
  const content = await readDotData(s);
  await finishMessage(s, content);
}
