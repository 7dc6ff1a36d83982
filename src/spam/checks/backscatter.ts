// Backscatter: bounces of mail our users never sent. When a spammer forges one of our addresses as the
// sender, the servers that refuse the spam send their bounces (null reverse-path, RFC 5321 section 4.5.5)
// to us. A real bounce quotes the message it is about; the replies check remembers the Message-ID of every
// message our users sent through us, so a bounce whose original is not one of those scores BACKSCATTER
// (SpamAssassin's VBounce, Postfix's BACKSCATTER_README). One whose original is ours scores BOUNCE_OURS
// (it must reach its sender); one that quotes no Message-ID at all, BOUNCE_NO_ORIGINAL.
// Delivery reports only: read receipts (RFC 8098) and feedback reports (RFC 5965) are not bounces.
import type { Config } from '../../config/schema.ts';
import type { Store } from '../../core/ports.ts';
import type { MimePart, ParsedMessage } from '../../mime/types.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';
import { idKey } from './replies.ts';

const DAY = 24 * 3600_000;
/** How much of a bounce's text is searched for the original's Message-ID (non-standard bounces). */
const SCAN_BYTES = 64 * 1024;
/** Parts of a bounce looked at: a report has three, a careless one a few more. */
const MAX_PARTS = 50;

/** Subjects of bounces that are not RFC 3464 reports (qmail, Exchange, old sendmail, ...). */
const BOUNCE_SUBJECT =
  /\b(undeliver(?:able|ed)|delivery (?:status notification|failure|has failed)|(?:mail )?delivery failed|returned mail|failure notice|non-?delivery|could not be delivered|mail system error)\b/i;
const BOUNCE_FROM = /^(mailer-daemon|postmaster)@/i;

function* parts(root: MimePart): Generator<MimePart> {
  const stack = [root];
  let n = 0;
  while (stack.length && n++ < MAX_PARTS) {
    const p = stack.shift()!;
    yield p;
    stack.push(...p.children);
  }
}

/** Whether the message is a delivery report (a bounce), not a read receipt or a complaint. */
export function isBounce(parsed: ParsedMessage): boolean {
  const root = parsed.root;
  if (root.type === 'multipart' && root.subtype === 'report') {
    const kind = (root.params['report-type'] ?? '').toLowerCase();
    if (kind === 'delivery-status' || kind === 'global-delivery-status') return true;
    if (kind) return false; // disposition-notification (MDN), feedback-report (ARF), tlsrpt, ...
  }
  for (const p of parts(root))
    if (p.type === 'message' && (p.subtype === 'delivery-status' || p.subtype === 'global-delivery-status'))
      return true;
  const from = parsed.envelope.from?.[0];
  const sender = from?.mailbox && from.host ? `${from.mailbox}@${from.host}` : '';
  return BOUNCE_SUBJECT.test(parsed.headers.subject) || BOUNCE_FROM.test(sender);
}

/**
 * The Message-ID of the message a bounce is about: the returned message (message/rfc822) or its header
 * section (text/rfc822-headers), else the first Message-ID header line quoted in the text.
 */
export function originalMessageId(raw: Buffer, parsed: ParsedMessage): string | null {
  for (const p of parts(parsed.root)) {
    if (p.message?.envelope.messageId) return idKey(p.message.envelope.messageId);
    if ((p.type === 'text' && p.subtype === 'rfc822-headers') || (p.type === 'message' && p.subtype === 'rfc822')) {
      const id = quotedId(raw.subarray(p.bodyStart, Math.min(p.bodyEnd, p.bodyStart + SCAN_BYTES)));
      if (id) return id;
    }
  }
  // Not a report: the original quoted as text below the explanation.
  const body = raw.subarray(parsed.root.headerEnd, Math.min(raw.length, parsed.root.headerEnd + SCAN_BYTES));
  return quotedId(body);
}

function quotedId(b: Buffer): string | null {
  const m = /^[ \t>]*message-id:[ \t]*(?:\r?\n[ \t]+)?<([^<>\s]{3,250})>/im.exec(b.toString('latin1'));
  return m ? idKey(m[1]) : null;
}

export function backscatterCheck(deps: { store: Store; config: Config; now?: () => number }): SpamCheck {
  const cfg = deps.config.spam.backscatter;
  const halfLife = deps.config.spam.replies.half_life_days * DAY;
  return {
    name: 'backscatter',
    async run(ctx) {
      // Only a null reverse-path is a bounce; unknown (a file checked by `petrel spam check`) is not judged.
      // Bounces only relayed (to an SRS address, of mail an alias forwarded) are the original sender's.
      if (ctx.mailFrom !== '' || ctx.accountIds.length === 0 || !isBounce(ctx.parsed)) return [];
      const id = originalMessageId(ctx.raw, ctx.parsed);
      if (!id) return [{ name: 'BOUNCE_NO_ORIGINAL', score: cfg.unverified_score }];
      const [sent] = await deps.store.reputation.lookup(
        [{ kind: 'reply', key: id }],
        deps.now?.() ?? Date.now(),
        halfLife,
      );
      const out: SpamSymbol =
        sent && sent.ham > sent.spam
          ? { name: 'BOUNCE_OURS', score: cfg.ours_score, detail: `<${id}>` }
          : { name: 'BACKSCATTER', score: cfg.score, detail: `<${id}> was not sent by our users` };
      return [out];
    },
  };
}
