// Feedback to the parts of the filter that learn: a user's judgement (moving a message into or out of
// Junk, a report), a spam trap's (spam/traps.ts) and the pipeline's own verdicts. Bayes learns only from
// users and traps (learning from its own verdicts would be an auto-learn loop that poisons the tables);
// reputation may use all three.
import type { ParsedMessage } from '../mime/types.ts';
import type { SpamContext, SpamVerdict } from './types.ts';

export interface Feedback {
  class: 'spam' | 'ham';
  /**
   * 'user': a person said so (IMAP move into/out of Junk, a report); 'trap': it was sent to a spam trap
   * (always spam, global); 'verdict': the pipeline decided.
   */
  source: 'user' | 'trap' | 'verdict';
  /** The account whose judgement it is (per-account tables); null for global/admin training. */
  accountId: number | null;
  raw: Buffer;
  parsed?: ParsedMessage;
  /**
   * For source 'user': the judged copy's email id (the id of the copy first stored, which a verdict of
   * our filter names). Its trace fields are trusted only when our filter delivered it.
   */
  emailId?: number;
  /**
   * For source 'user': this account judged the same message the other way before (moved it into Junk,
   * now out again). Sinks that count reports take the earlier one back instead of counting both.
   */
  retracts?: boolean;
  /** For source 'verdict': the pipeline's context (client IP, domains, auth results) and verdict. */
  ctx?: SpamContext;
  verdict?: SpamVerdict;
}

export interface FeedbackSink {
  name: string;
  /** Must not throw for bad input; failures are logged by the caller and never affect delivery. */
  learn(f: Feedback): Promise<void>;
}
