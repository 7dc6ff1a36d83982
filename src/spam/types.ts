// The spam filter's shared shapes: what a check sees (SpamContext), what it says (SpamSymbol), and the
// verdict the pipeline (spam/pipeline.ts) reaches from the sum of symbol scores. Like rspamd, every
// check is named and every score explained, so an admin can see why and tune weights in config.
import type { ParsedMessage } from '../mime/types.ts';

/** One finding of one check: a stable upper-case name, its score (positive = spammy), and why. */
export interface SpamSymbol {
  name: string;
  score: number;
  /** Human-readable detail for the admin (e.g. the blocklist zone and return code, the URL). */
  detail?: string;
  /**
   * An action this finding imposes whatever the score (a DMARC p=reject failure, a greylist deferral);
   * the strongest wins: reject > greylist > junk.
   */
  force?: 'reject' | 'greylist' | 'junk';
  /**
   * The forced action holds whatever else the verdict says: for exempt recipients (spam.exempt_recipients)
   * and, for a deferral, for trusted senders and low scores (a virus; a message the scanner could not read).
   */
  always?: boolean;
  /** A sender trusted by this finding (an allow list entry) is not greylisted: a greylist force is dropped. */
  trusted?: boolean;
  /** Only for mail to these accounts (an account's own allow/block list); absent: for every recipient. */
  accounts?: number[];
}

/** What the checks see. Network facts are absent when the message did not come from the network. */
export interface SpamContext {
  /** The message as received, CRLF line ends, without our trace headers. */
  raw: Buffer;
  /** The parse of `raw` (MIME tree with offsets, decoded text), made once for every check. */
  parsed: ParsedMessage;
  /** Client IP (IPv4 dotted or IPv6), HELO/EHLO name, reverse-path ('' = null sender), recipients. */
  clientIp?: string;
  helo?: string;
  mailFrom?: string;
  rcptTo?: string[];
  /** Local accounts the message is for (per-account Bayes tables, thresholds); empty for `spam check`. */
  accountIds: number[];
  /** Our host name and authserv-id (Authentication-Results). */
  hostname: string;
  /** Results earlier checks left for later ones (e.g. SPF/DKIM/DMARC results for reputation). */
  facts: Map<string, unknown>;
}

/** A named check. `run` must not throw for bad input; it may be abandoned when the pipeline's time runs out. */
export interface SpamCheck {
  name: string;
  /** Whether the check needs the network (DNS): off for `petrel spam check` and the benchmark. */
  network?: boolean;
  /** Checks run in stages: all of stage 0 concurrently, then stage 1 (which reads their facts), ... */
  stage?: number;
  run(ctx: SpamContext, signal: AbortSignal): Promise<SpamSymbol[]>;
  /**
   * What the check says when it throws or runs out of time, instead of the zero-score *_FAIL / *_TIMEOUT
   * symbol: for a check whose silence must not pass as clean (the virus scanner defers the message).
   * `ctx` carries what the unfinished run left in ctx.facts meanwhile.
   */
  failed?(detail: string, ctx: SpamContext): SpamSymbol[];
}

export type SpamAction = 'accept' | 'junk' | 'reject' | 'greylist';

export interface SpamVerdict {
  action: SpamAction;
  score: number;
  symbols: SpamSymbol[];
  /** Symbols for other accounts than the one judged (SpamSymbol.accounts), left out of this verdict. */
  scoped?: SpamSymbol[];
  /** Header fields to prepend to the stored message (Authentication-Results, X-Spam-*), each ending CRLF. */
  headers: string;
  /** The SMTP reply text for reject/greylist. */
  reason?: string;
}
