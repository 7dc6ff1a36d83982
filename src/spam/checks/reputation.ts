// Sender reputation: decaying spam/ham evidence per client IP, network, authenticated domain, DKIM domain
// and authenticated From address (reputation/keys.ts), fed by verdicts and spam traps (weight 1; a clean
// verdict is ham evidence only as far as its score is below zero, see hamEvidence) and user judgements
// (spam.reputation.user_weight).
// The check runs in stage 1 to read the DKIM results stage 0 left in ctx.facts. A key with fewer than
// min_observations observations scores nothing: new senders are neither trusted nor condemned. Observations
// fade with the evidence (same half-life), so a sender unseen for long is new again.
import { parseDuration } from '../../config/duration.ts';
import type { Config } from '../../config/schema.ts';
import type { Store } from '../../core/ports.ts';
import type { ReputationEntry, ReputationKind } from '../../core/reputation-port.ts';
import { parseMessage } from '../../mime/parse.ts';
import type { Feedback, FeedbackSink } from '../feedback.ts';
import { factsFromTrace, reputationKeys, senderFacts } from '../reputation/keys.ts';
import type { SpamCheck, SpamSymbol, SpamVerdict } from '../types.ts';

const DAY = 24 * 3600_000;
/** Learns between two prunes of dead rows. */
const PRUNE_EVERY = 1000;
/** |balance| below this says nothing either way. */
const MIN_BALANCE = 0.25;

export function parseKindWeights(list: string[]): Map<ReputationKind, number> {
  const out = new Map<ReputationKind, number>();
  for (const e of list) {
    const m = /^\s*(ip|net|domain|dkim|from)\s*=\s*(-?\d+(?:\.\d+)?)\s*$/i.exec(e);
    if (m) out.set(m[1].toLowerCase() as ReputationKind, Number(m[2]));
  }
  return out;
}

/**
 * The balance of evidence in [-1, 1]: +1 only spam, -1 only ham; one pseudo-observation keeps it modest.
 * Over the total weight, so verdicts that said neither (clean mail that scored nothing) pull it to 0.
 */
export function balance(e: Pick<ReputationEntry, 'spam' | 'ham'> & { total?: number }): number {
  return (e.spam - e.ham) / (Math.max(e.total ?? 0, e.spam + e.ham) + 1);
}

/**
 * How much ham a clean verdict is evidence of: its score without the reputation symbols, below zero, as a
 * share of the reject score (rspamd's reputation averages its verdicts' scores over the reject threshold).
 * A message that merely was not found to be spam says nothing; only one the checks vouched for (DMARC, a
 * known correspondent, Bayes) builds trust, so a sender's volume of bland mail buys none.
 */
export function hamEvidence(v: SpamVerdict | undefined, config: Config): number {
  if (!v) return 0;
  const own = v.symbols.filter((s) => s.name.startsWith('REPUTATION_')).reduce((a, s) => a + s.score, 0);
  return Math.min(1, Math.max(0, -(v.score - own) / Math.max(1, config.spam.reject_score)));
}

/**
 * Whether a key has been seen enough to score. Its decayed count is taken to the nearest whole observation:
 * five verdicts in the last hour are five (4.99 after their minutes of decay), one a half-life ago half of one.
 */
export function seenEnough(e: Pick<ReputationEntry, 'count'>, minObservations: number): boolean {
  return e.count >= minObservations - 0.5;
}

/** The symbol one key's evidence gives, or why it gives none (also for `petrel spam reputation`). */
export function judgeEntry(
  e: ReputationEntry,
  minObservations: number,
  weights: Map<ReputationKind, number>,
): { name: string; score: number } | { none: string } {
  if (!seenEnough(e, minObservations)) return { none: `fewer than ${minObservations} observations` };
  const b = balance(e);
  if (Math.abs(b) < MIN_BALANCE) return { none: 'evidence too even' };
  return {
    name: `REPUTATION_${e.kind.toUpperCase()}_${b > 0 ? 'BAD' : 'GOOD'}`,
    score: Math.round(b * (weights.get(e.kind) ?? 2) * 100) / 100,
  };
}

export function reputationCheck(deps: { store: Store; config: Config; now?: () => number }): SpamCheck {
  const cfg = deps.config.spam.reputation;
  const weights = parseKindWeights(cfg.weights);
  return {
    name: 'reputation',
    stage: 1,
    async run(ctx) {
      const keys = reputationKeys(ctx.parsed, senderFacts(ctx));
      const entries = await deps.store.reputation.lookup(keys, deps.now?.() ?? Date.now(), cfg.half_life_days * DAY);
      // Per kind, the key with the strongest evidence speaks (e.g. of envelope and From domains).
      const best = new Map<ReputationKind, ReputationEntry>();
      for (const e of entries) {
        if (!seenEnough(e, cfg.min_observations)) continue;
        const prev = best.get(e.kind);
        if (!prev || e.spam + e.ham > prev.spam + prev.ham) best.set(e.kind, e);
      }
      const out: SpamSymbol[] = [];
      for (const e of best.values()) {
        const j = judgeEntry(e, cfg.min_observations, weights);
        if ('name' in j)
          out.push({
            ...j,
            detail: `${e.key}: spam ${e.spam.toFixed(1)}, ham ${e.ham.toFixed(1)}, ${e.count.toFixed(1)} seen`,
          });
      }
      return out;
    },
  };
}

/**
 * True when a verdict went the way it did only because of reputation symbols: learning from it would be
 * a loop (a bad name makes junk, junk makes the name worse), so such verdicts are not recorded.
 */
export function decidedByReputation(cls: 'spam' | 'ham', v: SpamVerdict, config: Config): boolean {
  const own = v.symbols.filter((s) => s.name.startsWith('REPUTATION_')).reduce((a, s) => a + s.score, 0);
  if (own === 0) return false;
  const forced = v.symbols.some(
    (s) => !s.name.startsWith('REPUTATION_') && (s.force === 'reject' || s.force === 'junk'),
  );
  const without = forced || v.score - own >= config.spam.junk_score ? 'spam' : 'ham';
  return without !== cls;
}

export function reputationSink(deps: { store: Store; config: Config; now?: () => number }): FeedbackSink {
  const cfg = deps.config.spam.reputation;
  let learned = 0;
  const filteredByUs = async (f: Feedback) =>
    f.accountId !== null &&
    f.emailId !== undefined &&
    (await deps.store.spam.firstVerdicts(f.accountId, [f.emailId])).size > 0;
  return {
    name: 'reputation',
    async learn(f) {
      // Housekeeping without a scheduler: on the first learn after a start and every PRUNE_EVERY after (a
      // server restarted before its thousandth would never prune), rows whose evidence has decayed to nothing
      // (20 half-lives: a millionth of it) are deleted, and digests whose reports have (20 of the digest
      // store's half-lives). The rows replies and traps keep in the same table go by their own half-life and
      // memory, not the senders'.
      if (learned++ % PRUNE_EVERY === 0) {
        const now = deps.now?.() ?? Date.now();
        const sent = now - 20 * deps.config.spam.replies.half_life_days * DAY;
        const trap = now - parseDuration(deps.config.spam.traps.client_memory, 'spam.traps.client_memory');
        await deps.store.reputation.prune(
          now - 20 * cfg.half_life_days * DAY,
          { reply: sent, contact: sent, trap },
          now - 20 * deps.config.spam.digests.half_life_days * DAY,
        );
      }
      if (
        f.source === 'verdict' &&
        (!cfg.learn_verdicts || (f.verdict && decidedByReputation(f.class, f.verdict, deps.config)))
      )
        return;
      const parsed = f.parsed ?? f.ctx?.parsed ?? parseMessage(f.raw);
      const facts = f.ctx ? senderFacts(f.ctx) : factsFromTrace(parsed, deps.config.server.hostname);
      // A user's judgement of a copy our filter did not deliver (APPENDed, submitted, from LMTP): its
      // Received and Authentication-Results may be anyone's words, and what the sender cannot forge (the
      // client IP, its network, DKIM) must not be condemned on them, nor its claimed domains taken as
      // authenticated (reputationKeys then leaves them out).
      if (!f.ctx && f.source === 'user' && !(await filteredByUs(f))) {
        facts.clientIp = undefined;
        facts.dkimDomains = [];
        facts.spfPass = undefined;
        facts.dmarcPass = false;
      }
      const weight =
        f.source === 'user'
          ? cfg.user_weight
          : f.source === 'verdict' && f.class === 'ham'
            ? hamEvidence(f.verdict, deps.config)
            : 1;
      let keys = reputationKeys(parsed, facts);
      // Anyone who knows a trap can send to it in anyone's name, and through a big provider's servers: a
      // trap counts like one verdict, not a user's report, and only against what the sender cannot forge
      // (the client IP, its network, passing DKIM domains), not the domains and address it claims.
      if (f.source === 'trap') keys = keys.filter((k) => k.kind === 'ip' || k.kind === 'net' || k.kind === 'dkim');
      const now = deps.now?.() ?? Date.now();
      // An account's judgements count once per sender key, its latest standing (as the digest store counts
      // each account once per digest): one user moving a big provider's mail into Junk by the dozen must
      // not condemn it for everyone, and toggling a message piles up nothing.
      if (f.source === 'user' && f.accountId !== null)
        return deps.store.reputation.vote(keys, f.accountId, f.class, weight, now, cfg.half_life_days * DAY);
      // A judgement without an account that changes its mind (into Junk, back out) moves its weight to the
      // other side: toggling a message must not pile up evidence.
      const back = f.retracts ? -weight : 0;
      await deps.store.reputation.record(
        keys,
        {
          spam: f.class === 'spam' ? weight : back,
          ham: f.class === 'ham' ? weight : back,
          // A judgement weighs its weight; a clean verdict weighs 1 whatever share of it speaks for ham.
          total: f.retracts ? 0 : f.source === 'verdict' ? 1 : weight,
        },
        now,
        cfg.half_life_days * DAY,
        f.retracts ? 0 : 1,
      );
    },
  };
}

/**
 * Takes a removed account's judgements out of sender reputation and the own digest store (the directory
 * calls it): others' mail is no longer judged by the votes of someone who is gone. What is left of each vote
 * is taken back at the weight a judgement has now (spam.reputation.user_weight, as vote() assumes when a
 * user changes their mind).
 */
export function forgetAccountVotes(deps: { store: Store; config: Config }, accountId: number): Promise<number> {
  const cfg = deps.config.spam.reputation;
  return deps.store.reputation.forgetAccount(accountId, Date.now(), {
    halfLifeMs: cfg.half_life_days * DAY,
    weight: cfg.user_weight,
    digestHalfLifeMs: deps.config.spam.digests.half_life_days * DAY,
  });
}
