// SPAMTRAP: the message is also addressed to a spam trap (spam/traps.ts). The trap recipients are left in
// ctx.facts for the inbound filter, which teaches the learning parts from them once the verdict is stored.
import type { Config } from '../../config/schema.ts';
import { SpamTraps, TRAP_FACT } from '../traps.ts';
import type { SpamCheck } from '../types.ts';

export function trapsCheck(deps: { config: Config; traps?: SpamTraps }): SpamCheck {
  const cfg = deps.config.spam.traps;
  const traps = deps.traps ?? new SpamTraps(cfg.addresses, cfg.learn);
  return {
    name: 'traps',
    async run(ctx) {
      const hit = (ctx.rcptTo ?? []).filter((a) => traps.has(a));
      if (hit.length === 0) return [];
      ctx.facts.set(TRAP_FACT, hit);
      const shown = hit.slice(0, 5).join(', ') + (hit.length > 5 ? `, ... (${hit.length})` : '');
      return [{ name: 'SPAMTRAP', score: cfg.score, detail: `sent to ${shown}` }];
    },
  };
}
