// Replies and contacts (rspamd's "replies" module, Stalwart's trusted replies): mail our authenticated
// users send is remembered in the reputation store, its Message-ID (kind "reply") and each recipient
// address (kind "contact"). Inbound mail that answers one of those messages scores REPLY; mail whose From
// address our users wrote to scores KNOWN_CONTACT, but only when DMARC or DKIM aligned with the From domain
// authenticates it (a From header is free to forge); a reply whose From fails DMARC scores nothing. Both
// lower false positives on real correspondence.
import type { Config } from '../../config/schema.ts';
import type { Store } from '../../core/ports.ts';
import type { ReputationKey } from '../../core/reputation-port.ts';
import { parseAddressList } from '../../mime/address.ts';
import type { ParsedMessage } from '../../mime/types.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';
import { AUTH_FACT, type AuthFacts } from './auth.ts';

const DAY = 24 * 3600_000;
/** Message-IDs of a message's In-Reply-To and References looked up (the newest ones). */
const MAX_IDS = 20;

/** A Message-ID as remembered: without angle brackets, lower case. */
export const idKey = (id: string) => id.trim().replace(/^<|>$/g, '').toLowerCase();

/** What sending a message teaches: its Message-ID and its recipients. */
export function sentKeys(messageId: string | null, recipients: string[]): ReputationKey[] {
  const keys: ReputationKey[] = [];
  if (messageId) keys.push({ kind: 'reply', key: idKey(messageId) });
  for (const r of new Set(recipients.map((a) => a.toLowerCase()))) keys.push({ kind: 'contact', key: r });
  return keys;
}

/** Remembers a message an authenticated user sent (called after the submission was accepted). */
export async function rememberSent(
  deps: { store: Store; config: Config; now?: () => number },
  messageId: string | null,
  recipients: string[],
): Promise<void> {
  const cfg = deps.config.spam.replies;
  if (!cfg.enabled) return;
  const keys = sentKeys(messageId, recipients);
  if (keys.length === 0) return;
  await deps.store.reputation.record(keys, { spam: 0, ham: 1 }, deps.now?.() ?? Date.now(), cfg.half_life_days * DAY);
}

/** The From address, when DMARC passed or a DKIM signature aligned with the From domain verified. */
export function authenticatedFrom(parsed: ParsedMessage, facts: Map<string, unknown>): string | null {
  const auth = facts.get(AUTH_FACT) as AuthFacts | undefined;
  if (!auth) return null;
  const ok = auth.dmarc.result === 'pass' || auth.dkim.some((d) => d.result === 'pass' && d.aligned);
  if (!ok) return null;
  const [from] = parseAddressList(parsed.headers.from ?? '').filter((a) => a.mailbox && a.host);
  return from ? `${from.mailbox}@${from.host}`.toLowerCase() : null;
}

export function repliesCheck(deps: { store: Store; config: Config; now?: () => number }): SpamCheck {
  const cfg = deps.config.spam.replies;
  return {
    name: 'replies',
    // Stage 1: reads the sender authentication stage 0 left in ctx.facts.
    stage: 1,
    async run(ctx) {
      const h = ctx.parsed.headers;
      const ids = [...new Set([...h.inReplyTo, ...h.references.slice(-MAX_IDS)].map(idKey))].filter(Boolean);
      const from = authenticatedFrom(ctx.parsed, ctx.facts);
      const keys: ReputationKey[] = ids.map((key) => ({ kind: 'reply', key }));
      if (from) keys.push({ kind: 'contact', key: from });
      if (keys.length === 0) return [];
      const found = await deps.store.reputation.lookup(keys, deps.now?.() ?? Date.now(), cfg.half_life_days * DAY);
      const out: SpamSymbol[] = [];
      // A Message-ID is no secret (every recipient has it, list archives publish it): a message whose From
      // fails DMARC is a spoof, and its In-Reply-To proves nothing about who wrote it.
      // A list host whose ARC seal we trust vouches that the original passed (a reply through the list).
      const auth = ctx.facts.get(AUTH_FACT) as AuthFacts | undefined;
      const spoof = auth?.dmarc.result === 'fail' && !auth.arc.trusted;
      const reply = !spoof && found.find((e) => e.kind === 'reply' && e.ham > e.spam);
      if (reply) out.push({ name: 'REPLY', score: cfg.reply_score, detail: `answers <${reply.key}>` });
      const contact = found.find((e) => e.kind === 'contact' && e.ham > e.spam);
      if (contact) out.push({ name: 'KNOWN_CONTACT', score: cfg.contact_score, detail: contact.key });
      return out;
    },
  };
}
