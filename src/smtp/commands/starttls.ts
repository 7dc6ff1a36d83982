// STARTTLS (RFC 3207): 220, handshake, then the session starts over. Anything the client pipelined after
// STARTTLS in plaintext is dropped by Connection.startTls, never read as a command (no injection across
// the TLS boundary, RFC 3207 section 4.2, CVE-2011-0411 class).
import { reply } from '../../protocol/smtp/reply.ts';
import type { SmtpSession } from '../session.ts';

export async function starttls(s: SmtpSession, arg: string): Promise<void> {
  if (arg.trim() !== '') return s.reply(reply(501, '5.5.4', 'STARTTLS takes no argument'));
  if (s.secure) return s.reply(reply(503, '5.5.1', 'TLS already active'));
  let ctx: Awaited<ReturnType<typeof s.deps.tls>>;
  try {
    ctx = await s.deps.tls();
  } catch (e) {
    s.log.error({ err: e }, 'TLS not available');
    return s.reply(reply(454, '4.7.0', 'TLS not available due to temporary reason'));
  }
  s.reply(reply(220, '2.0.0', 'Ready to start TLS'));
  await s.flush();
  try {
    await s.conn.startTls(ctx, s.deps.limits.command_timeout_ms);
  } catch (e) {
    s.log.info({ err: e }, 'TLS handshake failed');
    s.conn.destroy();
    await s.close();
    return;
  }
  s.resetAll();
}
