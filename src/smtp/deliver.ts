// After the content is in: checks that need it (size, bare line ends, submitter's From:), quotas, trace
// headers, then local delivery (one transaction, MailService.deliver) and the outbound queue for other
// domains. The 250 goes out only once both have resolved, i.e. the message is on disk.
//
// Several recipients and a quota (the issue leaves this to us): LMTP answers per recipient (RFC 2033
// section 4.2), so a full mailbox fails alone. SMTP has one reply after DATA: if every local mailbox is
// too full, 552 5.2.2; if only some are, 452 4.2.2 for the whole message and nothing is stored, so nothing
// is lost or duplicated. The client retries; a client that declares SIZE then meets the full mailbox at
// RCPT (452 4.2.2 for that recipient only, see rcpt.ts) and the others get the message. A domain's or
// tenant's quota counts all the copies in it together (MailService.exceededTogether): in recipient order,
// the copies that still fit do, the rest are "full". The store checks the quotas again inside its
// transaction (concurrent deliveries); a refusal there is answered the same way.
import { isPetrelError, isStorageFull } from '../core/errors.ts';
import type { Account } from '../core/model.ts';
import type { AppendResult, OutboundRecipient } from '../core/ports.ts';
import { parseAddressList } from '../mime/address.ts';
import { getField, parseHeaderBlock } from '../mime/header.ts';
import { type Reply, reply } from '../protocol/smtp/reply.ts';
import { stripOwnAuthResults } from '../spam/auth-results.ts';
import { internalError, replyForError } from './errors.ts';
import { headerLimitReply } from './header-limits.ts';
import { senderAllowed } from './policy.ts';
import { deliveredTo, receivedHeader, returnPath } from './received.ts';
import type { SmtpSession } from './session.ts';
import { countAccepted, forwardingDomain, spamFiltered } from './spam.ts';

/** What the mail log line of a transaction says besides its envelope and reply (set as it is learnt). */
interface MailNote {
  size: number;
  id?: string;
  spam?: { action: string; score: number; symbols: string[] };
  junk?: number;
  /** Recipients whose forwarded copies were not made (junk, spam.forward_junk). */
  withheld?: number;
  /** Recipients that were spam traps (nothing stored for them). */
  trapped?: number;
}
const notes = new WeakMap<SmtpSession, MailNote>();

/**
 * One log line per message, whatever became of it (Postfix's qmgr/smtpd lines in one): envelope, size,
 * queue id, the reply and the spam verdict with the symbols that counted, so "why was my mail refused" is
 * answered from the log.
 */
function logMessage(s: SmtpSession, replies: Reply[]): void {
  const tx = s.tx;
  if (!tx) return;
  const note = notes.get(s);
  notes.delete(s);
  const code = Math.max(...replies.map((x) => x.code));
  const rcpts = tx.rcpts.map((r) => r.address);
  s.log.info(
    {
      from: tx.from?.address ?? '',
      rcpts: rcpts.slice(0, 10),
      ...(rcpts.length > 10 && { rcptCount: rcpts.length }),
      size: note?.size,
      ...(note?.id && { id: note.id }),
      ...(s.account && { account: s.account.address }),
      reply: replies.length === 1 ? formatReply(replies[0]) : replies.map((x) => x.code),
      ...(note?.spam && { spam: note.spam }),
      ...(note?.junk && { junk: note.junk }),
      ...(note?.trapped && { trapped: note.trapped }),
      ...(note?.withheld && { withheld: note.withheld }),
    },
    code < 400 ? 'message accepted' : code < 500 ? 'message deferred' : 'message refused',
  );
}

const formatReply = (r: Reply) => `${r.code} ${r.enhanced} ${r.lines.join(' ')}`.replace(/\s+/g, ' ').slice(0, 300);

/** What the reply to the end of content is: one (SMTP) or one per recipient (LMTP), then the reset. */
function answer(s: SmtpSession, r: Reply | Reply[]): void {
  const n = s.tx?.rcpts.length ?? 1;
  const replies = Array.isArray(r) ? r : s.kind === 'lmtp' ? new Array<Reply>(n).fill(r) : [r];
  logMessage(s, replies);
  for (const x of replies) s.reply(x);
  s.resetTransaction();
}

/** The header fields of a submitted message (generous limits: the size limit already applied). */
// Every field: the header section was already bounded (smtp.max_header_size and max_header_lines), and a
// From hidden behind a field limit must not pass as "no From".
const headerFields = (raw: Buffer) =>
  parseHeaderBlock(raw, 0, raw.length, { maxHeaderFields: 1_000_000, maxHeaderLineLength: 1 << 20 }, []).fields;
type HeaderFields = ReturnType<typeof headerFields>;

/** RFC 6409 section 6.1: a submitter's From: addresses must be its own (account.sendAs). */
async function fromHeaderAllowed(s: SmtpSession, fields: () => HeaderFields): Promise<boolean> {
  const account = s.account!;
  if (account.sendAs === 'any') return true;
  const all = fields();
  const named = (n: string) => all.filter((f) => f.name.toLowerCase() === n).map((f) => f.value);
  const from = named('from');
  // RFC 5322 section 3.6: exactly one From; a second one is what a reader may be shown instead.
  if (from.length > 1) return false;
  // RFC 6409 section 6.1: the author (From) and the sender (Sender) both name the submitting user, a Sender
  // without a From too (a reader shows it in the From's place).
  for (const value of [...from, ...named('sender')]) {
    const addrs = parseAddressList(value).filter((a) => a.host !== null && a.mailbox !== null);
    if (addrs.length === 0) return false;
    for (const a of addrs)
      if (!(await senderAllowed(s.deps.directory, account, `${a.mailbox}@${a.host}`))) return false;
  }
  return true;
}

/** The longest line of a message, in octets without its CRLF (RFC 5322 section 2.1.1). */
const MAX_LINE = 998;

function failure(s: SmtpSession, e: unknown): Reply {
  const r = replyForError(e);
  if (!r) s.log.error({ err: e }, 'delivery failed');
  else if (isStorageFull(e)) s.log.warn({ reason: (e as Error).message }, 'delivery deferred: storage full');
  return r ?? internalError();
}

/** The delivery of a message whose content is in: judged, stored or queued, answered. */
export function finishMessage(s: SmtpSession, content: MessageContent): Promise<void> {
  // Run through the session, which knows a delivery is in flight when the shutdown grace period runs out.
  return s.delivery(() => judgeStoreAndAnswer(s, content));
}

interface MessageContent {
  chunks: Buffer[];
  size: number;
  over: boolean;
  bareLf?: boolean;
  bareCr?: boolean;
  /** Octets of the longest line (line end excluded; BINARYMIME: of the header section). */
  longestLine?: number;
}

async function judgeStoreAndAnswer(s: SmtpSession, content: MessageContent): Promise<void> {
  const tx = s.tx!;
  const note: MailNote = { size: content.size };
  notes.set(s, note);
  // The AUTH must still hold now the content is in: a new password or a revoked grant heard while it came
  // (a check under way is waited for) ends the session instead of a 250. 421, not 535 (the reply to AUTH
  // itself, RFC 4954 section 6) nor a 5xx the client would bounce: it keeps the message, and its owner sends
  // it again once signed in anew; the one who stole the password does not get it sent.
  if (!(await s.signInHolds())) {
    answer(s, s.signedOut!);
    return s.close();
  }
  if (content.over) return answer(s, reply(552, '5.3.4', 'Message size exceeds fixed maximum message size'));
  if (content.bareLf || content.bareCr)
    return answer(
      s,
      reply(
        550,
        '5.6.0',
        `Message refused: bare ${content.bareLf ? 'LF' : 'CR'} in the data; lines must end with CRLF`,
      ),
    );
  // RFC 5321 section 4.5.3.1.6, RFC 5322 section 2.1.1: no line over 998 octets. Our users' mail is refused
  // (their client must wrap or encode it), never relayed so; internet mail an alias forwards is passed on
  // as it came, since rewrapping it would break its author's DKIM signature.
  if (s.kind === 'submission' && (content.longestLine ?? 0) > MAX_LINE)
    return answer(
      s,
      reply(
        550,
        '5.6.0',
        `Message refused: a line of ${content.longestLine} octets is longer than the ${MAX_LINE} allowed; wrap it or send it encoded (quoted-printable, base64)`,
      ),
    );
  const raw = content.chunks.length === 1 ? content.chunks[0] : Buffer.concat(content.chunks, content.size);
  const tooLarge = headerLimitReply(raw, s.deps.limits);
  if (tooLarge) return answer(s, tooLarge);
  // Parsed at most once, and only for submissions (the From check and the replies memory read it).
  let parsedFields: HeaderFields | undefined;
  const fields = () => (parsedFields ??= headerFields(raw));
  if (s.account && !(await fromHeaderAllowed(s, fields)))
    return answer(s, reply(550, '5.7.1', `From: header address not allowed for ${s.account.address}`));
  // Our own users' and trusted networks' mail: no spam filter, but no malware leaves in our name either.
  if (s.deps.virusScan && s.kind !== 'lmtp' && (s.account || s.trustedNetwork)) {
    const refused = await s.deps.virusScan(raw);
    if (refused) return answer(s, reply(refused.code, refused.enhanced, refused.text));
  }
  // ... nor spam: a stolen password or a hacked web form must not send it in our name (spam.outbound).
  if (s.deps.outboundScan && s.kind !== 'lmtp' && (s.account || s.trustedNetwork)) {
    const refused = await s.deps.outboundScan.judge({
      raw,
      account: s.account?.address ?? null,
      clientIp: s.conn.remoteAddress,
      mailFrom: tx.from?.address ?? '',
      rcptTo: tx.rcpts.map((r) => r.address),
    });
    if (refused) return answer(s, reply(554, '5.7.1', refused));
  }

  // Mail from the internet: the spam verdict, while the client waits (never a bounce after accepting).
  const judged = spamFiltered(s)
    ? await s.deps.spam!.judge({
        raw,
        clientIp: s.conn.remoteAddress,
        helo: s.helo,
        mailFrom: tx.from?.address ?? '',
        rcpts: tx.rcpts.map((r) => ({
          address: r.address,
          accounts: r.accounts.map((a) => ({ id: a.id, address: a.address })),
          remote: r.remote,
        })),
      })
    : null;
  if (judged) {
    const v = judged.verdict;
    note.spam = {
      action: judged.action,
      score: v.score,
      symbols: v.symbols
        .filter((x) => x.score !== 0 || x.force)
        .slice(0, 30)
        .map((x) => `${x.name}=${x.score}`),
    };
    note.junk = [...judged.accounts.values()].filter((a) => a.junk).length;
    note.trapped = tx.rcpts.filter((r) => r.trap).length;
    note.withheld = judged.withheld.filter(Boolean).length;
  }
  if (judged && (judged.action === 'reject' || judged.action === 'greylist')) {
    await s.deps.spam!.record(judged, []);
    return answer(
      s,
      judged.action === 'reject'
        ? reply(550, '5.7.1', judged.reason ?? 'Message refused')
        : reply(451, '4.7.1', judged.reason ?? 'Try again later'),
    );
  }
  // A user's submission delivered to our own mailboxes: nobody but this server writes results under its
  // authserv-id (RFC 8601 section 5), so a colleague cannot be shown a forged "dkim=pass" of a bank.
  // Not LMTP or trusted networks: a front filter there may write our id on purpose.
  const body = judged?.raw ?? (s.account ? stripOwnAuthResults(raw, s.deps.hostname) : raw);
  const now = Date.now();
  const received = receivedHeader(s, now);
  // Our Authentication-Results (RFC 8601) right below our Received: above every field from outside.
  const trace = returnPath(tx.from?.address ?? null) + received + (judged?.authHeader ?? '');
  // A copy's content: the trace fields, the X-Spam-* lines of its verdict, the message.
  const spamHeaders = (a: Account) => judged?.accounts.get(a.id)?.headers ?? '';
  const contentWith = (headers: string) => Buffer.concat([Buffer.from(trace + headers), body]);
  const local = contentWith('');

  // Local accounts, each once, and which recipients lead to each.
  const accounts = new Map<number, { account: Account; rcpts: number[]; full: boolean; size: number }>();
  tx.rcpts.forEach((r, i) => {
    for (const a of r.accounts) {
      const e = accounts.get(a.id) ?? { account: a, rcpts: [], full: false, size: 0 };
      e.rcpts.push(i);
      accounts.set(a.id, e);
    }
  });
  // Checked together: one message to two accounts of a domain (or tenant) is two copies against its quota.
  const entries = [...accounts.values()];
  for (const e of entries)
    e.size = local.length + Buffer.byteLength(deliveredTo(e.account.address) + spamHeaders(e.account));
  const levels = await s.deps.mail.exceededTogether(entries.map((e) => ({ account: e.account.id, bytes: e.size })));
  entries.forEach((e, i) => {
    e.full = levels[i] !== null;
  });
  const fits = [...accounts.values()].filter((e) => !e.full);
  const hasRemote = tx.rcpts.some((r) => r.remote.length > 0);
  // Per recipient: it fails on quota when it has local accounts and every one of them is full.
  const rcptFull = tx.rcpts.map(
    (r) => r.remote.length === 0 && r.accounts.length > 0 && r.accounts.every((a) => accounts.get(a.id)!.full),
  );
  if (s.kind !== 'lmtp' && fits.length < accounts.size) {
    if (fits.length === 0 && !hasRemote) return answer(s, reply(552, '5.2.2', 'Mailbox full: quota exceeded'));
    return answer(s, reply(452, '4.2.2', 'A recipient mailbox is full; try again later'));
  }

  const results: (Reply | null)[] = tx.rcpts.map((_, i) =>
    rcptFull[i] ? reply(552, '5.2.2', 'Mailbox full: quota exceeded') : null,
  );
  let id = `${s.id}.${tx.seq}`;
  // Other domains first: a message the queue refuses is not delivered locally either (SMTP), so a retry
  // does not duplicate it.
  const remote = new Map<string, OutboundRecipient>();
  for (const [i, r] of tx.rcpts.entries()) {
    if (judged?.withheld[i]) continue; // junk not forwarded (spam.forward_junk)
    for (const address of r.remote)
      if (!remote.has(address)) remote.set(address, { address, orcpt: r.params.orcpt, notify: r.params.notify });
  }
  if (remote.size > 0) {
    try {
      id = await s.deps.outbound.enqueue({
        from: await forwardSender(s),
        recipients: [...remote.values()],
        raw: judged
          ? await s.deps.spam!.forwardContent(judged, Buffer.from(received), body, forwardingDomain(s))
          : s.kind === 'lmtp' && s.deps.spam
            ? await s.deps.spam.forwardFromFront(
                Buffer.from(received),
                raw,
                tx.from?.address ?? '',
                forwardingDomain(s),
              )
            : Buffer.concat([Buffer.from(received), raw]),
        envId: tx.params.envId,
        ret: tx.params.ret,
        smtpUtf8: tx.params.smtpUtf8,
        requireTls: tx.params.requireTls,
        bodyType: tx.params.body,
        accountId: s.account?.id,
        // Forwarded mail from the internet is ARC-sealed, never DKIM-signed as if we had written it. LMTP
        // carries internet mail too (the MTA in front's), even from smtp.trusted_networks: a forged From of
        // one of our domains must not leave with our signature (it would pass DMARC, RFC 7489 section 3.1).
        dkimSign: s.kind !== 'lmtp' && (!!s.account || s.trustedNetwork),
      });
    } catch (e) {
      const r = failure(s, e);
      if (s.kind !== 'lmtp') return answer(s, r);
      tx.rcpts.forEach((x, i) => {
        if (x.remote.length > 0 && !results[i]) results[i] = r;
      });
    }
  }
  // RFC 3461 section 5.2.3: a recipient whose NOTIFY has SUCCESS and whose mailboxes take the message is owed
  // a "delivered" DSN (recipients forwarded elsewhere have their NOTIFY passed on instead). The notice goes in
  // the delivery's own transaction, the DSN made from it by the queue (retried there): never lost after a 250.
  const inFits = new Set(fits.map((e) => e.account.id));
  const notified = tx.rcpts.filter(
    (r, i) =>
      !results[i] &&
      Array.isArray(r.params.notify) &&
      r.params.notify.includes('SUCCESS') &&
      r.accounts.some((a) => inFits.has(a.id)),
  );
  const sender = tx.from?.address ?? '';
  const notice = s.deps.outbound.deliveredNotice?.bind(s.deps.outbound);
  const owes =
    notified.length && sender && notice
      ? (content: { hash: string; size: number }) =>
          notice({
            from: sender,
            id,
            recipients: notified.map((r) => ({ address: r.address, orcpt: r.params.orcpt })),
            content,
            envId: tx.params.envId,
            ret: tx.params.ret,
            requireTls: tx.params.requireTls,
            smtpUtf8: tx.params.smtpUtf8,
            arrivalDate: now,
          })
      : undefined;
  if (fits.length > 0) {
    try {
      // Every copy goes in one transaction (a failure stores none, so the client's retry duplicates
      // nothing). The X-Spam-* lines normally sit in the shared content below Authentication-Results; when
      // per-domain or per-account thresholds give copies different lines, each copy's lines go in its own
      // prefix beside Delivered-To instead, and the content stays shared.
      const lines = new Map(fits.map((e) => [e.account.id, spamHeaders(e.account)]));
      const shared = new Set(lines.values()).size <= 1;
      const common = shared ? (lines.values().next().value ?? '') : '';
      const done = await s.deps.mail.deliver(
        common ? contentWith(common) : local,
        fits.map((e) => ({
          accountId: e.account.id,
          prefix: deliveredTo(e.account.address) + (shared ? '' : lines.get(e.account.id)!),
          specialUse: judged?.accounts.get(e.account.id)?.junk ? ('\\Junk' as const) : undefined,
          flags: judged?.accounts.get(e.account.id)?.keywords,
        })),
        undefined,
        owes,
      );
      if (owes) s.deps.outbound.kick?.();
      const stored: { accountId: number; result: AppendResult }[] = fits.map((e, i) => ({
        accountId: e.account.id,
        result: done[i],
      }));
      if (judged) await s.deps.spam!.record(judged, stored);
      // A DMARC or TLS report about one of our domains is read once it is stored; not awaited: the reply
      // does not wait for it, and it never fails the delivery.
      if (s.deps.reports && s.kind !== 'submission') void s.deps.reports.inspect(raw);
    } catch (e) {
      const refused = failure(s, e);
      let r = refused;
      const full = new Set<number>();
      if (isPetrelError(e) && e.code === 'OVER_QUOTA' && (fits.length > 1 || hasRemote)) {
        // The store checks quotas again inside its transaction (nothing was stored): a concurrent delivery
        // filled a mailbox after the check above, or the copies overrun their domain's or tenant's quota only
        // together. As above when some mailboxes are now full on their own: 452 4.2.2 (SMTP: the message;
        // LMTP: the others), and the retry meets the full ones at RCPT. When none is, a retry cannot succeed.
        for (const f of fits) if (await s.deps.mail.exceeded(f.account.id, f.size, 1)) full.add(f.account.id);
        if (full.size > 0 && (full.size < fits.length || hasRemote))
          r = reply(452, '4.2.2', 'A recipient mailbox is full; try again later');
      }
      if (s.kind !== 'lmtp') return answer(s, r);
      for (const f of fits) for (const i of f.rcpts) if (!results[i]) results[i] = full.has(f.account.id) ? refused : r;
    }
  }
  // Forwarded only (no local copy): the verdict is stored without a message.
  if (judged && fits.length === 0) await s.deps.spam!.record(judged, []);
  // What our users send teaches the filter whom they correspond with (replies and contacts are trusted), and
  // which bounces are of our own mail (backscatter); what trusted networks relay, only the latter (their
  // recipients are not our users' contacts). Best effort, after the fact: it neither delays nor fails it.
  if ((s.account || s.trustedNetwork) && s.kind !== 'lmtp' && s.deps.spam)
    void s.deps.spam.sent(getField(fields(), 'message-id') ?? null, s.account ? tx.rcpts.map((r) => r.address) : []);
  // Accepted: only now does the message count toward its sender's rate limit (spam/rate-limit.ts).
  await countAccepted(s, tx.from?.address ?? null);
  note.id = id;
  const ok = reply(250, '2.0.0', `OK: queued as ${id}`);
  if (s.kind !== 'lmtp') return answer(s, ok);
  answer(
    s,
    tx.rcpts.map((r, i) => results[i] ?? reply(250, '2.1.5', `<${r.address}> delivered`)),
  );
}

/**
 * The envelope sender of what goes to other servers. Internet mail an alias forwards leaves with an SRS
 * address of the alias's domain (smtp.srs): the next receiver's SPF check then concerns us, and a bounce
 * comes back to us to be relayed to the sender. Submitted, trusted and LMTP mail keeps its sender, as do the
 * null sender (nothing to bounce to) and senders in our own domains (our SPF already covers them).
 */
async function forwardSender(s: SmtpSession): Promise<string> {
  const from = s.tx!.from?.address ?? '';
  if (!from || !s.deps.srs || s.account || s.trustedNetwork || s.kind !== 'mx') return from;
  const domain = forwardingDomain(s);
  if (!domain) return from;
  if (await s.deps.directory.isLocalDomain(from.slice(from.lastIndexOf('@') + 1))) return from;
  return s.deps.srs.forward(from, domain);
}
