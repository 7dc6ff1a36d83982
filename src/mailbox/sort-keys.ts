// Sort keys computed once at delivery (RFC 5256): base subject, first address mailboxes.
import type { EnvelopeAddress } from '../mime/types.ts';

// RFC 5256 section 5 (subject grammar); after step (1) the only WSP left is a single space.
// subj-blob = "[" *BLOBCHAR "]" *WSP
const BLOB_AT = /\[[^[\]]*\] */y;
// subj-leader = (*subj-blob subj-refwd); subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
const LEADER = /^(?:\[[^[\]]*\] *)*(?:re|fwd?) *(?:\[[^[\]]*\] *)?:/i;
const FWD_TRAILER = /\(fwd\)$/i;
const FWD_HEADER = /^\[fwd:/i;

/**
 * RFC 5256 section 2.1 base subject of a decoded subject, as written (not case-folded), and whether
 * extraction removed a subj-refwd, a "(fwd)" trailer or a "[fwd: ...]" wrapper: the message is then
 * a reply or forward (THREAD=REFERENCES step 5).
 */
export function extractBaseSubject(subject: string): { base: string; replyOrForward: boolean } {
  // (1) tabs and continuations to space, runs of spaces to one.
  let s = subject.replace(/[\t\r\n ]+/g, ' ');
  let marked = false;
  for (;;) {
    // (2) subj-trailer = "(fwd)" / WSP, removed from the end until none is left.
    for (;;) {
      if (s.endsWith(' ')) s = s.slice(0, -1);
      else if (FWD_TRAILER.test(s)) {
        s = s.slice(0, -5);
        marked = true;
      } else break;
    }
    // (3) to (5): leaders, and a leading subj-blob when what follows is not empty.
    for (;;) {
      if (s.startsWith(' ')) {
        s = s.slice(1);
        continue;
      }
      const m = LEADER.exec(s);
      if (m !== null) {
        s = s.slice(m[0].length);
        marked = true;
        continue;
      }
      // LEADER tried every run of leading blobs, so no leader follows any of them either: drop the
      // blobs in one pass. (Dropping one and retrying LEADER rescans the rest each time: quadratic.)
      let at = 0;
      for (;;) {
        BLOB_AT.lastIndex = at;
        const b = BLOB_AT.exec(s);
        if (b === null || at + b[0].length >= s.length) break;
        at += b[0].length;
      }
      s = s.slice(at);
      break;
    }
    // (6) "[fwd:" subject "]": unwrap and start again from (2).
    if (FWD_HEADER.test(s) && s.endsWith(']')) {
      s = s.slice(5, -1);
      marked = true;
      continue;
    }
    return { base: s, replyOrForward: marked };
  }
}

/** The stored sort key: the base subject, lower-cased. */
export function baseSubject(subject: string): string {
  return extractBaseSubject(subject).base.toLowerCase();
}

/** RFC 5256 section 3: the addr-mailbox of the first address, lower-cased; '' if none. */
export function firstMailbox(list: EnvelopeAddress[] | null): string {
  const a = list?.find((x) => x.host !== null && x.mailbox !== null);
  return (a?.mailbox ?? '').toLowerCase();
}
