// SPAMTRAP: the message is also addressed to a spam trap (spam/traps.ts); the trap recipients are left in
// ctx.facts for the inbound filter, which teaches the learning parts from them once the verdict is stored.
// SPAMTRAP_CLIENT: the client IP sent to a trap lately (a `trap` row in the reputation store, written by
// the inbound filter), so the rest of a spam run scores before reputation has seen enough of the sender.
// Stage 1: mail that DMARC or aligned DKIM authenticates is spared it, since big providers send everyone's
// mail, an attacker's to a trap included, from the same servers.
import { parseDuration } from '../../config/duration.ts';
import type { Config } from '../../config/schema.ts';
import type { Store } from '../../core/ports.ts';
import { ipKey } from '../reputation/keys.ts';
import { SpamTraps, TRAP_FACT } from '../traps.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';
import { authenticatedFrom } from './replies.ts';

export function trapsCheck(deps: { config: Config; store: Store; traps?: SpamTraps }): SpamCheck {
  const cfg = deps.config.spam.traps;
  const traps = deps.traps ?? new SpamTraps(cfg.addresses, cfg.learn);
  const memoryMs = parseDuration(cfg.client_memory, 'spam.traps.client_memory');
  return {
    name: 'traps',
    stage: 1,
    async run(ctx) {
      const out: SpamSymbol[] = [];
      const hit = (ctx.rcptTo ?? []).filter((a) => traps.has(a));
      if (hit.length > 0) {
        ctx.facts.set(TRAP_FACT, hit);
        const shown = hit.slice(0, 5).join(', ') + (hit.length > 5 ? `, ... (${hit.length})` : '');
        out.push({ name: 'SPAMTRAP', score: cfg.score, detail: `sent to ${shown}` });
      }
      if (memoryMs > 0 && ctx.clientIp && authenticatedFrom(ctx.parsed, ctx.facts) === null) {
        const now = Date.now();
        const [row] = await deps.store.reputation.lookup([{ kind: 'trap', key: ipKey(ctx.clientIp) }], now, memoryMs);
        if (row && row.updatedAt >= now - memoryMs)
          out.push({
            name: 'SPAMTRAP_CLIENT',
            score: cfg.client_score,
            detail: `${ipKey(ctx.clientIp)} sent to a spam trap ${Math.round((now - row.updatedAt) / 60_000)} min ago (${Math.round(row.count)} lately)`,
          });
      }
      return out;
    },
  };
}

/** Remembers that the client IP sent to a trap (what SPAMTRAP_CLIENT reads); off when client_memory is 0. */
export async function rememberTrapClient(deps: { config: Config; store: Store }, clientIp: string): Promise<void> {
  const memoryMs = parseDuration(deps.config.spam.traps.client_memory, 'spam.traps.client_memory');
  if (memoryMs === 0) return;
  await deps.store.reputation.record(
    [{ kind: 'trap', key: ipKey(clientIp) }],
    { spam: 1, ham: 0 },
    Date.now(),
    memoryMs,
  );
}
