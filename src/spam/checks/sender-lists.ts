// Allow and block lists (`petrel spam allow|block`, the spam_lists rows): the admin's for every recipient,
// a domain's for its accounts, and each account's own. A block matches the client IP, the envelope sender or a From address, and
// refuses the message (or sends it to Junk: spam.lists.block_action); an allow entry matches the client IP,
// or an address or domain only when the sender is authenticated for it (SPF pass for the envelope sender,
// DMARC or aligned DKIM for From), as SpamAssassin's welcomelist_auth does: a From header is free to
// forge. A block always wins over an allow; an allowed sender is not greylisted, other forced actions stay.
import type { Config } from '../../config/schema.ts';
import type { Store } from '../../core/ports.ts';
import { parseAddressList } from '../../mime/address.ts';
import { SenderLists } from '../lists/cache.ts';
import type { SenderIdentity } from '../lists/entry.ts';
import type { SpamCheck, SpamContext, SpamSymbol } from '../types.ts';
import { AUTH_FACT, type AuthFacts } from './auth.ts';
import { authenticatedFrom } from './replies.ts';

const lower = (a: string) => a.toLowerCase();

/** The envelope sender and the From addresses: whoever claims to send the message. */
function claimed(ctx: SpamContext): string[] {
  const from = parseAddressList(ctx.parsed.headers.from ?? '')
    .filter((a) => a.mailbox && a.host)
    .map((a) => `${a.mailbox}@${a.host}`);
  return [...new Set([...(ctx.mailFrom ? [ctx.mailFrom] : []), ...from].map(lower))];
}

/** The same, only those authenticated: the envelope sender with SPF pass for its domain, From with DMARC/DKIM. */
function authenticated(ctx: SpamContext): string[] {
  const out: string[] = [];
  const auth = ctx.facts.get(AUTH_FACT) as AuthFacts | undefined;
  const mailFrom = ctx.mailFrom?.toLowerCase();
  if (mailFrom && auth?.spf.result === 'pass' && auth.spf.domain?.toLowerCase() === mailFrom.split('@').pop())
    out.push(mailFrom);
  const from = authenticatedFrom(ctx.parsed, ctx.facts);
  if (from) out.push(from);
  return [...new Set(out)];
}

export function senderListsCheck(deps: { store: Store; config: Config }): SpamCheck {
  const cfg = deps.config.spam.lists;
  const lists = SenderLists.of(deps.store);
  return {
    name: 'sender_lists',
    // Stage 1: an allow entry for an address needs the sender authentication stage 0 leaves in ctx.facts.
    stage: 1,
    async run(ctx) {
      const scopes = await lists.forAccounts(ctx.accountIds);
      const block: SenderIdentity = { clientIp: ctx.clientIp, addresses: claimed(ctx) };
      const allow: SenderIdentity = { clientIp: ctx.clientIp, addresses: authenticated(ctx) };
      const out: SpamSymbol[] = [];
      for (const m of scopes) {
        const accounts = m.accounts;
        const blocked = m.block(block);
        if (blocked)
          out.push({
            name: 'BLOCKLISTED',
            score: cfg.block_score,
            force: cfg.block_action,
            detail: `Sender refused by local policy (${blocked.entry})`,
            ...(accounts && { accounts }),
          });
        const allowed = m.allow(allow);
        if (allowed)
          out.push({
            name: 'ALLOWLISTED',
            score: cfg.allow_score,
            detail: allowed.entry,
            trusted: true,
            ...(accounts && { accounts }),
          });
      }
      return out;
    },
  };
}
