// RCPT TO:<forward-path> [params] (RFC 5321 section 4.1.1.3): local recipients are resolved now (unknown:
// 550 5.1.1; full mailbox: 452 4.2.2); others only from authenticated or trusted clients (no open relay)
// and only to domains the queue can route (else 550 5.1.2),
// but for SRS addresses we made (smtp/srs.ts), which go back to the sender of mail we forwarded. A spam
// trap (spam/traps.ts) is accepted like a mailbox when the mail comes from the internet.
import type { Account } from '../../core/model.ts';
import { canonicalAddress } from '../../directory/address.ts';
import { parseRcpt } from '../../protocol/smtp/command.ts';
import { rcptParams } from '../../protocol/smtp/params.ts';
import { relayTrick } from '../../protocol/smtp/path.ts';
import { type Reply, reply } from '../../protocol/smtp/reply.ts';
import { routableAddress } from '../../queue/service.ts';
import type { SmtpSession } from '../session.ts';
import { spamFiltered } from '../spam.ts';

/** A recipient refused by policy (relay, unknown user, full mailbox): logged, as Postfix's "NOQUEUE: reject". */
function refuse(s: SmtpSession, rcpt: string, r: Reply): void {
  s.log.info(
    { from: s.tx?.from?.address ?? '', rcpt, reply: `${r.code} ${r.enhanced} ${r.lines.join(' ')}`.slice(0, 300) },
    'recipient refused',
  );
  s.reply(r);
}

/** Whether the outbound queue can route the address (routableAddress does not throw). */
function routable(address: string): boolean {
  try {
    routableAddress(address);
    return true;
  } catch {
    return false;
  }
}

/** An authenticated account's recipient limit (smtp.send_limit_recipients): counts this one. */
async function sendLimit(s: SmtpSession): Promise<Reply | null> {
  if (!s.account || !s.deps.sendLimits) return null;
  const over = await s.deps.sendLimits.recipient(s.account);
  return over ? reply(451, '4.7.1', over) : null;
}

export async function rcpt(s: SmtpSession, arg: string): Promise<void> {
  const tx = s.tx!;
  const p = parseRcpt(arg);
  if (!p.ok)
    return s.reply(
      p.param
        ? reply(501, '5.5.4', `Invalid parameters: ${p.reason}`)
        : reply(501, '5.1.3', `Bad recipient address syntax: ${p.reason}`),
    );
  // RFC 5321 section 4.5.3.1.10: 452 for too many recipients, the client sends the rest later.
  if (tx.rcpts.length >= s.deps.limits.max_recipients) return s.reply(reply(452, '4.5.3', 'Too many recipients'));
  const e = s.esmtp;
  const params = rcptParams(p.value.params, {
    size: e,
    body8: e,
    binary: e,
    smtpUtf8: e,
    dsn: e,
    auth: false,
    requireTls: false,
  });
  if (!params.ok) return s.reply(reply(params.unknown ? 555 : 501, '5.5.4', params.reason));

  let canonical: string | null;
  let given: string;
  if (p.value.postmaster) {
    // RFC 5321 section 4.5.1: <Postmaster> without a domain must be accepted.
    given = `postmaster@${s.deps.postmasterDomain}`;
    canonical = given;
  } else {
    const addr = p.value.path!;
    given = addr.address;
    if (addr.utf8 && !tx.params.smtpUtf8)
      return s.reply(reply(553, '5.6.7', 'Non-ASCII recipient address needs SMTPUTF8'));
    // The same reply as a mailbox's: the sender must not learn which addresses are traps.
    if (spamFiltered(s) && s.deps.spam!.isTrap(given)) {
      tx.rcpts.push({ address: given, accounts: [], remote: [], params: params.value, trap: true });
      s.state = 'rcpt';
      return s.reply(reply(250, '2.1.5', 'Recipient OK'));
    }
    const local = !addr.literal && (await s.deps.directory.isLocalDomain(addr.domain));
    const trick = relayTrick(addr);
    if (!local) {
      // No open relay: only authenticated submitters and smtp.trusted_networks reach other domains.
      if (s.kind === 'lmtp' || !(s.account || s.trustedNetwork))
        return refuse(s, given, reply(554, '5.7.1', `<${given}>: Relay access denied`));
      // What the queue cannot route (a domain without a dot, "friend@intranet") is refused here, by the
      // test enqueue applies, rather than failing the whole message after DATA: 5.1.2, bad destination
      // system address (RFC 3463 section 3.2), as Postfix answers an unroutable domain.
      if (!routable(given))
        return refuse(s, given, reply(550, '5.1.2', `<${given}>: Recipient address rejected: domain is not routable`));
      const over = await sendLimit(s);
      if (over) return refuse(s, given, over);
      tx.rcpts.push({ address: given, accounts: [], remote: [given], params: params.value });
      s.state = 'rcpt';
      return s.reply(reply(250, '2.1.5', 'Recipient OK'));
    }
    if (trick) return refuse(s, given, reply(550, '5.7.1', `<${given}>: ${trick}`));
    // An SRS address we made for forwarded mail (a bounce coming back): relayed to the original sender.
    // Not over LMTP, which only delivers here.
    const back = s.kind === 'lmtp' ? undefined : s.deps.srs?.reverse(addr.localPart);
    if (back && (back.ok || back.reason !== 'not-srs')) {
      if (!back.ok)
        return s.reply(
          reply(
            550,
            '5.7.1',
            `<${given}>: ${back.reason === 'expired' ? 'SRS address expired' : 'Invalid SRS address'}`,
          ),
        );
      tx.rcpts.push({ address: given, accounts: [], remote: [back.address], params: params.value });
      s.state = 'rcpt';
      return s.reply(reply(250, '2.1.5', 'Recipient OK'));
    }
    canonical = canonicalAddress(addr.localPart, addr.domain);
  }
  const r = p.value.postmaster
    ? await s.deps.directory.resolvePostmaster(s.deps.postmasterDomain)
    : canonical
      ? await s.deps.directory.resolve(canonical)
      : null;
  if (!r) return refuse(s, given, reply(550, '5.1.1', `<${given}>: Recipient address rejected: user unknown`));
  // A mailbox already full refuses now (per recipient); the declared SIZE counts when there is one, and the
  // accounts accepted before this recipient come first: their copies share a domain's or tenant's quota.
  const taken = new Map<number, Account>();
  for (const x of tx.rcpts) for (const a of x.accounts) taken.set(a.id, a);
  const checked = [...taken.values(), ...r.accounts.filter((a) => !taken.has(a.id))];
  const levels = await s.deps.mail.exceededTogether(checked.map((a) => ({ account: a, bytes: tx.params.size ?? 1 })));
  const isFull = new Set(checked.filter((_, i) => levels[i] !== null).map((a) => a.id));
  const full = r.accounts.filter((a) => isFull.has(a.id)).length;
  if (full > 0 && full === r.accounts.length && r.external.length === 0)
    return refuse(s, given, reply(452, '4.2.2', `<${given}>: Mailbox full`));
  const over = await sendLimit(s);
  if (over) return refuse(s, given, over);
  tx.rcpts.push({ address: given, accounts: r.accounts, remote: r.external, params: params.value });
  s.state = 'rcpt';
  s.reply(reply(250, '2.1.5', 'Recipient OK'));
}
