// MAIL FROM:<reverse-path> [params] (RFC 5321 section 4.1.1.2): starts a transaction. Submission needs
// AUTH first (RFC 6409 section 4.3) and a sender the account may use; parameters per the EHLO offer.
import { parseMail } from '../../protocol/smtp/command.ts';
import { mailParams } from '../../protocol/smtp/params.ts';
import { reply } from '../../protocol/smtp/reply.ts';
import { emptyContent } from '../data.ts';
import { senderAllowed } from '../policy.ts';
import type { SmtpSession } from '../session.ts';
import { admitSender } from '../spam.ts';

export async function mail(s: SmtpSession, arg: string): Promise<void> {
  if (s.account) await recheckAccount(s);
  if (s.kind === 'submission' && !s.account) return s.reply(reply(530, '5.7.0', 'Authentication required'));
  const p = parseMail(arg);
  if (!p.ok)
    return s.reply(
      p.param
        ? reply(501, '5.5.4', `Invalid parameters: ${p.reason}`)
        : reply(501, '5.1.7', `Bad sender address syntax: ${p.reason}`),
    );
  // Extensions exist only after EHLO/LHLO (RFC 5321 section 4.1.1.1); REQUIRETLS only over TLS (RFC 8689).
  const e = s.esmtp;
  const params = mailParams(p.value.params, {
    size: e,
    body8: e,
    binary: e,
    smtpUtf8: e,
    dsn: e,
    auth: e && s.kind !== 'lmtp',
    requireTls: e && s.secure,
  });
  if (!params.ok) {
    if (p.value.params.some((x) => x.keyword === 'REQUIRETLS') && !s.secure)
      return s.reply(reply(530, '5.7.10', 'REQUIRETLS needs a TLS session'));
    return s.reply(reply(params.unknown ? 555 : 501, '5.5.4', params.reason));
  }
  const v = params.value;
  // RFC 1870 section 6.2: a declared size above the limit is refused now.
  if (v.size !== undefined && v.size > s.deps.limits.max_message_size)
    return s.reply(reply(552, '5.3.4', 'Message size exceeds fixed maximum message size'));
  const from = p.value.path;
  // RFC 6531 section 3.4: a non-ASCII address needs the SMTPUTF8 parameter.
  if (from?.utf8 && !v.smtpUtf8) return s.reply(reply(553, '5.6.7', 'Non-ASCII sender address needs SMTPUTF8'));
  if (s.account && !(await senderAllowed(s.deps.directory, s.account, from ? from.address : null)))
    return s.reply(reply(553, '5.7.1', `Sender address rejected: not owned by ${s.account.address}`));
  // Rate limits (spam.rate_limit), before any content is sent: 451 4.7.1, try later. The client IP counts
  // here; the sender only once a message is accepted (smtp/deliver.ts), so a claimed address that sends
  // nothing cannot use up its owner's quota.
  const limited = await admitSender(s, from ? from.address : null);
  if (limited) return s.reply(reply(451, '4.7.1', limited));
  // An authenticated account's own sending limit (smtp.send_limit_messages).
  const overSent = s.account && s.deps.sendLimits ? await s.deps.sendLimits.message(s.account) : null;
  if (overSent) return s.reply(reply(451, '4.7.1', overSent));
  // A sender whose mail the outbound scan kept refusing (spam.outbound.suspend_after): nothing more for now.
  const suspended =
    s.deps.outboundScan && s.kind !== 'lmtp' && (s.account || s.trustedNetwork)
      ? await s.deps.outboundScan.suspended({ account: s.account?.address ?? null, clientIp: s.conn.remoteAddress })
      : null;
  if (suspended) return s.reply(reply(451, '4.7.1', suspended));
  s.txCount++;
  s.tx = { from, params: v, rcpts: [], content: emptyContent(), seq: s.txCount };
  s.state = 'mail';
  s.reply(reply(250, '2.1.0', 'Sender OK'));
}

/**
 * The account signed in at AUTH, read again for each transaction (one lookup by id): its current state
 * (address, sender policy, limits) applies. A removal or disabling normally ended the session already (its
 * event: SmtpSession.signedIn, 421); one made behind the server's back (the store changed directly) is
 * caught here: the session is signed out, so a session left open cannot go on sending. A signed-out session is treated as never authenticated, which is what
 * Postfix's submission service does with a client without SASL credentials (it refuses to take mail):
 * MAIL gets RFC 4954 section 6's 530 5.7.0 "Authentication required" (the reply for a command that needs
 * authentication), not 535 5.7.8, which answers a failed AUTH exchange.
 */
async function recheckAccount(s: SmtpSession): Promise<void> {
  const was = s.account!;
  const now = await s.deps.directory.store.getAccount(was.id);
  if (now && !now.disabled) {
    s.account = now;
    return;
  }
  s.signOut();
  s.log.warn({ event: 'auth_revoked', user: was.address }, 'account removed or disabled since AUTH: signed out');
}
