// A user's judgement read from where they file mail: copying, moving or APPENDing a message into the Junk
// mailbox (special-use \Junk, RFC 6154) says "spam" (as Dovecot's IMAPSieve training does for COPY and
// APPEND), moving or copying out of Junk into any mailbox but Trash says "ham"; a client setting the $Junk
// or $NotJunk keyword in place (or Thunderbird's Junk/NonJunk) says spam or ham. Each becomes user Feedback
// for every sink (Bayes, reputation). Runs after the filing has committed, detached from the command
// (MailService.onFiling), so a slow or failing sink never fails an IMAP or JMAP command. An account's
// judgements are given one after the other, in the order they were made: a move into Junk and straight back
// out must end learned as ham, not as whichever run finished last.
import { createHash } from 'node:crypto';
import { type Filing, filingJudgement, type MailService } from '../mailbox/service.ts';
import { parseMessage } from '../mime/parse.ts';
import type { Logger } from '../telemetry/log.ts';
import type { FeedbackSink } from './feedback.ts';

/** The class a filing teaches, or null (within Junk, into Trash, between ordinary mailboxes, APPEND elsewhere). */
export function judgement(f: Filing): 'spam' | 'ham' | null {
  if (f.kind === 'keyword') return f.keyword ?? null;
  return filingJudgement(f.src?.specialUse ?? null, f.dst.specialUse ?? null);
}

const CHUNK = 50;

export interface JunkFeedback {
  observe(f: Filing): Promise<void>;
  /** Resolves when every judgement seen so far has been given to the sinks (tests, shutdown). */
  settled(): Promise<void>;
}

/** How long a judgement is remembered to give it once: a client that sets $Junk and then moves to Junk. */
const REMEMBER_MS = 90 * 86_400_000;

export function junkFeedback(deps: { mail: MailService; sinks: FeedbackSink[]; log: Logger }): JunkFeedback {
  const pending = new Set<Promise<void>>();
  // The last judgement queued per account; each starts when the one before it has ended. Removed once the
  // account's queue is empty, so the map holds only accounts with judgements in flight.
  const queues = new Map<number, Promise<void>>();
  // The class last given per account and message digest, in the store (every node sees the others'). Bayes
  // learns each message once anyway; the reputation and digest sinks count reports, so the same judgement
  // twice must not reach them, whichever node sees the second, and a changed mind (into Junk, back out)
  // reaches them as a retraction of the first judgement, not as one more report.
  const once = (accountId: number, raw: Buffer, cls: 'spam' | 'ham') => {
    const now = Date.now();
    const digest = createHash('sha256').update(raw).digest('base64');
    return deps.mail.store.spam.noteJudgement(accountId, digest, cls, now, now - REMEMBER_MS);
  };
  async function run(f: Filing, cls: 'spam' | 'ham'): Promise<void> {
    const all = f.uids;
    // A few messages read at a time: moving a whole mailbox into Junk must not hold it all in memory.
    for (let i = 0; i < all.length; i += CHUNK) {
      const recs = await deps.mail.store.listMessages(f.dst.id, { uids: all.slice(i, i + CHUNK) });
      const raws = await deps.mail.readMany(recs);
      for (const [k, raw] of raws.entries()) {
        if (raw instanceof Error) continue; // expunged meanwhile
        const noted = await once(f.dst.accountId, raw, cls);
        if (noted === 'same') continue;
        const parsed = parseMessage(raw);
        const emailId = recs[k].emailId;
        for (const sink of deps.sinks) {
          try {
            await sink.learn({
              class: cls,
              source: 'user',
              accountId: f.dst.accountId,
              raw,
              parsed,
              emailId,
              retracts: noted === 'changed',
            });
          } catch (e) {
            deps.log.warn({ sink: sink.name, err: (e as Error).message }, 'spam feedback failed');
          }
        }
      }
    }
  }
  return {
    observe(f) {
      const cls = judgement(f);
      if (cls === null || deps.sinks.length === 0) return Promise.resolve();
      const account = f.dst.accountId;
      const p = (queues.get(account) ?? Promise.resolve())
        .then(() => run(f, cls))
        .catch((e) => deps.log.warn({ err: (e as Error).message }, 'spam feedback failed'));
      queues.set(account, p);
      pending.add(p);
      void p.finally(() => {
        pending.delete(p);
        if (queues.get(account) === p) queues.delete(account);
      });
      return p;
    },
    async settled() {
      while (pending.size) await Promise.all([...pending]);
    },
  };
}
