// The content scan: everything the spam checks read from a message's body that costs time in proportion
// to its size (Bayes tokens, URLs and link texts, credential forms, attachment inspection, digests, the
// admin's local rules),
// computed once per message by one pure function. The server runs it on worker threads under a hard
// time limit (spam/scan/pool.ts), so no input, however hostile, holds the event loop; `petrel spam
// check`, the benchmark and unit tests run it in place (spam/scan/scanner.ts).
import type { ParsedMessage } from '../../mime/types.ts';
import { tokenIds, tokenStreams } from '../bayes/tokenize.ts';
import { attachmentFindings, type Finding, isHtmlAttachment, messageBudget } from '../content/attachments.ts';
import { mixedScriptWords } from '../content/confusables.ts';
import { bodyAddresses } from '../content/emails.ts';
import { anyCredentialForm } from '../content/forms.ts';
import { officeLinks } from '../content/office.ts';
import { bodies, leaves } from '../content/parts.ts';
import { pdfLinks } from '../content/pdf.ts';
import { type LocalRule, matchRules, parseRules } from '../content/rules.ts';
import { extractUrls, type FoundUrl, htmlAttachmentLinks } from '../content/urls.ts';
import { messageDigests } from '../digest/message-digests.ts';
import { digestLines, pyzorDigest } from '../digest/pyzor-digest.ts';

/** What the scan needs from the configuration; plain data, posted to the worker threads once. */
export interface ScanOptions {
  /** Attachment extensions that count as executables, lower case, without the dot. */
  executables: string[];
  /** The admin's local rules (spam.rules), as written: compiled where the scan runs. */
  rules: string[];
  /** Fuzzy digests are wanted (spam.digests with fuzzy on): 75 us a message otherwise spent for nothing. */
  fuzzy: boolean;
  /** Body addresses are wanted (spam.ebl or spam.uribl has zones): none are looked for otherwise. */
  addresses: boolean;
}

/** The scan's findings; plain data (structured-clonable), the same from a worker as in place. */
export interface ContentScan {
  /** Bayes token ids (spam/bayes/tokenize.ts). */
  tokens: number[];
  /** Links of the text and HTML bodies, then of PDF, Office and HTML attachments (at most MAX_URLS in all). */
  urls: FoundUrl[];
  /** An HTML part holds a form asking for a password or card data. */
  credentialForm: boolean;
  /** Dangerous attachments. */
  attachments: Finding[];
  /** The Pyzor digest of the body, or null when no line qualifies (or the message is too large). */
  pyzor: string | null;
  /** The message's digests in Petrel's own digest store ("body:...", "att:...", fuzzy "fz1.<band>:..."). */
  digests: string[];
  /** Indices (in ScanOptions.rules) of the local rules that match. */
  ruleHits: number[];
  /** Words of the body text mixing Latin with Cyrillic or Greek letters (at most 10). */
  mixedScriptWords: string[];
  /** E-mail addresses in the body text and mailto: links, normalised (at most MAX_ADDRESSES). */
  addresses: string[];
}

/** Body addresses kept per message (the e-mail blocklists look up at most spam.ebl.max_addresses). */
const MAX_ADDRESSES = 20;

/** Links kept per message (bodies first). */
const MAX_URLS = 200;

/** The rules compiled once per thread for the list they came from. */
let compiled: { specs: string[]; rules: LocalRule[] } | null = null;
function rulesOf(specs: string[]): LocalRule[] {
  if (compiled?.specs !== specs) compiled = { specs, rules: parseRules(specs) };
  return compiled.rules;
}

export function scanContent(raw: Buffer, parsed: ParsedMessage, opts: ScanOptions): ContentScan {
  const b = bodies(raw, parsed);
  const pyzor = digestLines(raw, parsed).length ? pyzorDigest(raw, parsed) : null;
  // One allowance for everything decompressed from attachments (archives' lists, PDF object streams).
  const budget = messageBudget();
  const bodyUrls = extractUrls(b);
  const urls = [...bodyUrls, ...pdfLinks(raw, parsed, budget, MAX_URLS - bodyUrls.length)];
  urls.push(...officeLinks(raw, parsed, budget, MAX_URLS - urls.length));
  urls.push(...htmlAttachmentLinks(leaves(raw, parsed).filter(isHtmlAttachment), MAX_URLS - urls.length));
  return {
    tokens: tokenIds(tokenStreams(raw, parsed)),
    urls,
    credentialForm: anyCredentialForm(b.html),
    attachments: attachmentFindings(raw, parsed, new Set(opts.executables), budget),
    pyzor,
    digests: messageDigests(raw, parsed, pyzor, opts.fuzzy),
    ruleHits: opts.rules.length ? matchRules(rulesOf(opts.rules), parsed, urls) : [],
    mixedScriptWords: mixedScriptWords(parsed.text, 10),
    addresses: opts.addresses ? bodyAddresses([parsed.text], b.html, MAX_ADDRESSES) : [],
  };
}
