// Sort keys computed once at delivery (RFC 5256): base subject, first address mailboxes.
import type { EnvelopeAddress } from '../mime/types.ts';

// RFC 5256 section 5 (subject grammar); after step (1) the only WSP left is a single space.
// subj-blob = "[" *BLOBCHAR "]" *WSP
const BLOB = /^\[[^[\]]*\] */;
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
      let m: RegExpExecArray | null;
      if (s.startsWith(' ')) s = s.slice(1);
      else if ((m = LEADER.exec(s)) !== null) {
        s = s.slice(m[0].length);
        marked = true;
      } else if ((m = BLOB.exec(s)) !== null && m[0].length < s.length) s = s.slice(m[0].length);
      else break;
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
