// Header anomalies: missing or unparseable Date and Message-ID (RFC 5322 section 3.6 requires Date and
// asks for Message-ID), a Date far in the future or past, no From or several From mailboxes without a
// Sender (RFC 5322 section 3.6.2), Reply-To at another domain (worse at a free mailer), Received fields
// claiming our own host (we add ours after the checks, so any present came from outside, unless a DKIM
// signature of ours shows the message went out from here and came back) or whose times run
// backwards (RFC 5321 section 4.4: each relay prepends one, so older ones sit lower).
import type { Config } from '../../config/schema.ts';
import type { Store } from '../../core/ports.ts';
import { parseDate } from '../../mime/date.ts';
import { registeredDomain } from '../content/domain.ts';
import { fromMailboxes, localDomains, replyToMailboxes } from '../content/sender.ts';
import type { SpamCheck, SpamContext, SpamSymbol } from '../types.ts';
import { AUTH_FACT, type AuthFacts } from './auth.ts';

const HOUR = 3600_000;
/** Clock skew tolerated between two relays' Received times. */
const RELAY_SKEW_MS = 2 * HOUR;

export function parseScores(list: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of list) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(-?\d+(?:\.\d+)?)\s*$/i.exec(e);
    if (m) out.set(m[1].toUpperCase(), Number(m[2]));
  }
  return out;
}

/** The time a Received field records (after its last ';'), or null. */
export function receivedTime(value: string): number | null {
  const semi = value.lastIndexOf(';');
  return semi < 0 ? null : parseDate(value.slice(semi + 1).trim());
}

/** Fields RFC 5322 section 3.6 allows at most once, besides From (judged on its own). */
const SINGLE_FIELDS = [
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'subject',
  'date',
  'message-id',
  'in-reply-to',
  'references',
];

export interface AnomalyOptions {
  now: number;
  futureMs: number;
  pastMs: number;
  freemail: Set<string>;
  /** A DKIM signature of one of our domains passed (AUTH_FACT): the message left here before. */
  ownSignature?: boolean;
}

/** The anomaly symbol names of a message, each with a detail. */
export function anomalies(ctx: SpamContext, o: AnomalyOptions): { name: string; detail?: string }[] {
  const out: { name: string; detail?: string }[] = [];
  const fields = ctx.parsed.headerFields;
  const all = (n: string) => fields.filter((f) => f.name.toLowerCase() === n).map((f) => f.value);
  const date = all('date')[0];
  const received = all('received');
  const times = received.map(receivedTime);
  // The Date is compared with when the message was last received (the topmost Received), which is about
  // now for live mail and stays right when an old message is checked later (`petrel spam check`).
  const reference = times[0] ?? o.now;
  if (date === undefined) out.push({ name: 'HDR_MISSING_DATE' });
  else {
    const t = parseDate(date);
    if (t === null) out.push({ name: 'HDR_BAD_DATE', detail: date.slice(0, 80) });
    else if (t - reference > o.futureMs) out.push({ name: 'HDR_DATE_FUTURE', detail: date.slice(0, 80) });
    else if (reference - t > o.pastMs) out.push({ name: 'HDR_DATE_PAST', detail: date.slice(0, 80) });
  }
  const mid = all('message-id')[0];
  if (mid === undefined) out.push({ name: 'HDR_MISSING_MESSAGE_ID' });
  else if (!/^\s*<[^<>\s@]+@[^<>\s@]+>\s*$/.test(mid))
    out.push({ name: 'HDR_BAD_MESSAGE_ID', detail: mid.slice(0, 80) });
  // RFC 5322 section 3.6: these fields occur at most once. Two From fields let DMARC (the first) and the
  // reader's client (perhaps the last) see different authors: refused by default (duplicate_from).
  if (all('from').length > 1)
    out.push({
      name: 'HDR_FROM_DUPLICATE',
      detail: `${all('from').length} From fields (RFC 5322 section 3.6 allows one)`,
    });
  const repeated = SINGLE_FIELDS.filter((n) => all(n).length > 1);
  if (repeated.length) out.push({ name: 'HDR_DUPLICATE_FIELD', detail: repeated.join(', ') });
  const from = fromMailboxes(ctx.parsed);
  // RFC 5322 section 3.4.1: an address has a domain; "From: bob" names no author (nor anything to reply to).
  if (from.every((f) => !f.domain))
    out.push({ name: 'HDR_MISSING_FROM', ...(from.length > 0 && { detail: 'no domain in From' }) });
  else if (from.length > 1 && all('sender').length === 0)
    out.push({ name: 'HDR_FROM_MULTIPLE', detail: from.map((f) => f.address).join(', ') });
  const reply = replyToMailboxes(ctx.parsed)[0];
  // Mailing lists set Reply-To to the list: not an anomaly there.
  const list = all('list-id').length > 0 || all('list-post').length > 0;
  if (reply && from[0] && !list) {
    const r = registeredDomain(reply.domain) ?? reply.domain;
    const f = registeredDomain(from[0].domain) ?? from[0].domain;
    if (r !== f) {
      out.push({ name: 'HDR_REPLYTO_DIFFERENT_DOMAIN', detail: `${reply.domain} vs ${from[0].domain}` });
      if (o.freemail.has(reply.domain) && !o.freemail.has(from[0].domain))
        out.push({ name: 'HDR_REPLYTO_FREEMAIL', detail: reply.address });
    }
  }
  const host = ctx.hostname.toLowerCase();
  // "localhost" and single-label names are too common in other servers' headers to mean us.
  if (host.includes('.') && host !== 'localhost') {
    const claim = new RegExp(`\\bby\\s+${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'i');
    // A message of ours that went out and came back (a local user's post redistributed by a mailing list)
    // carries the field our submission added, below the foreign hops that brought it back. It is ours when
    // a DKIM signature of one of our domains passes: a forger cannot make one. Where the field sits alone
    // proves nothing, since a forger writes whatever Received fields he likes above his fake one.
    const forged = received.find(
      (r, i) => claim.test(r) && !(o.ownSignature && received.slice(0, i).some((x) => !claim.test(x))),
    );
    if (forged) out.push({ name: 'HDR_RECEIVED_FORGED_LOCAL', detail: forged.slice(0, 120) });
  }
  for (let i = 0; i + 1 < times.length; i++) {
    const newer = times[i];
    const older = times[i + 1];
    if (newer !== null && older !== null && older - newer > RELAY_SKEW_MS) {
      out.push({ name: 'HDR_RECEIVED_TIME_INCONSISTENT', detail: `hop ${i + 2} is later than hop ${i + 1}` });
      break;
    }
  }
  return out;
}

/** Whether a DKIM signature of one of our domains (or a name under one) passed. */
async function ownSignature(ctx: SpamContext, store: Store): Promise<boolean> {
  const auth = ctx.facts.get(AUTH_FACT) as AuthFacts | undefined;
  const passed = (auth?.dkim ?? []).filter((d) => d.result === 'pass').map((d) => d.domain.toLowerCase());
  if (!passed.length) return false;
  const ours = await localDomains(store);
  return passed.some((d) => ours.has(d) || [...ours].some((o) => d.endsWith(`.${o}`)));
}

export function headerAnomaliesCheck(deps: { config: Config; store: Store; now?: () => number }): SpamCheck {
  const cfg = deps.config.spam.headers;
  const scores = parseScores(cfg.scores);
  const freemail = new Set(cfg.freemail_domains.map((d) => d.toLowerCase()));
  return {
    name: 'header_anomalies',
    // Stage 1: reads the DKIM results stage 0 leaves in ctx.facts (our own mail coming back).
    stage: 1,
    async run(ctx) {
      const found = anomalies(ctx, {
        now: deps.now?.() ?? Date.now(),
        futureMs: cfg.future_hours * HOUR,
        pastMs: cfg.past_days * 24 * HOUR,
        freemail,
        ownSignature: await ownSignature(ctx, deps.store),
      });
      return found.map(
        (a): SpamSymbol => ({
          name: a.name,
          score: scores.get(a.name) ?? 1,
          ...(a.detail ? { detail: a.detail } : {}),
          ...(a.name === 'HDR_FROM_DUPLICATE' && cfg.duplicate_from === 'reject' && { force: 'reject' as const }),
        }),
      );
    },
  };
}
