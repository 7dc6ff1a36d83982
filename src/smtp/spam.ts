// Where the SMTP session meets the spam filter (src/spam/inbound.ts). Only mail from the internet is
// filtered: the MX listener, no AUTH, not from smtp.trusted_networks. Submission is our own users; LMTP
// comes from a local MTA that did its own filtering and whose client address is its own, not the
// sender's, so the connection checks would judge the wrong host.
import type { SmtpSession } from './session.ts';

/** Whether this session's mail goes through the spam filter. */
export function spamFiltered(s: SmtpSession): boolean {
  return !!s.deps.spam?.enabled && s.kind === 'mx' && !s.account && !s.trustedNetwork;
}

/** The rate limit check at MAIL FROM: null, or the text for a 451 4.7.1 (nothing counted for the sender yet). */
export async function admitSender(s: SmtpSession, from: string | null): Promise<string | null> {
  if (!spamFiltered(s)) return null;
  return s.deps.spam!.admit(s.conn.remoteAddress, from);
}

/** A filtered message was accepted: it counts toward its sender's rate limit (spam.rate_limit.per_sender). */
export async function countAccepted(s: SmtpSession, from: string | null): Promise<void> {
  if (spamFiltered(s)) await s.deps.spam!.accepted(s.conn.remoteAddress, from);
}

/** The domain of the first recipient that forwards elsewhere (an alias): the ARC sealer's domain. */
export function forwardingDomain(s: SmtpSession): string | null {
  const r = s.tx?.rcpts.find((x) => x.remote.length > 0 && x.accounts.length + x.remote.length > 0);
  if (!r) return null;
  // A relayed recipient (trusted network) forwards nothing of ours: its only remote is itself.
  if (r.remote.length === 1 && r.remote[0] === r.address) return null;
  const at = r.address.lastIndexOf('@');
  return at > 0 ? r.address.slice(at + 1).toLowerCase() : null;
}
