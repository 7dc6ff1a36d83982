// Sort keys computed once at delivery (RFC 5256): base subject, first address mailboxes.
import type { EnvelopeAddress } from '../mime/types.ts';

/**
 * RFC 5256 section 2.1 base subject: strip "Re:", "Fwd:", "[blob]" prefixes, "(fwd)" trailers and
 * "[Fwd: ...]" wrappers, repeatedly; whitespace collapsed; compared case-insensitively.
 */
export function baseSubject(subject: string): string {
  let s = subject.replace(/[\t\r\n ]+/g, ' ').trim();
  for (;;) {
    const before = s;
    // (2) trailing "(fwd)" and whitespace
    while (/\s*\(fwd\)\s*$/i.test(s)) s = s.replace(/\s*\(fwd\)\s*$/i, '');
    // (3) leading subj-refwd ("re", "fw", "fwd" with optional [blob] then ":") and subj-blob
    for (;;) {
      const b = s;
      s = s.replace(/^\s*(?:re|fwd?)\s*(?:\[[^[\]]*\]\s*)*:\s*/i, '');
      const blob = /^\s*\[[^[\]]*\]\s*/.exec(s);
      if (blob && s.length > blob[0].length) s = s.slice(blob[0].length);
      if (s === b) break;
    }
    // (5) "[fwd:" ... "]" wrapper
    const w = /^\[fwd:\s*(.*)\]$/i.exec(s);
    if (w) s = w[1];
    s = s.trim();
    if (s === before) break;
  }
  return s.toLowerCase();
}

/** RFC 5256 section 3: the addr-mailbox of the first address, lower-cased; '' if none. */
export function firstMailbox(list: EnvelopeAddress[] | null): string {
  const a = list?.find((x) => x.host !== null && x.mailbox !== null);
  return (a?.mailbox ?? '').toLowerCase();
}
