// GTUBE, the Generic Test for Unsolicited Bulk Email: a fixed string that SpamAssassin, rspamd and
// Stalwart treat as certain spam, so an admin can check the whole path (a test message refused at the
// end of DATA, or by the outbound scan) without sending real spam. Looked for in the decoded text of the
// message's text parts only, as rspamd does: a header or an attachment that quotes it is not a test.
import type { SpamCheck } from '../types.ts';

export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

export function gtubeCheck(): SpamCheck {
  return {
    name: 'gtube',
    async run(ctx) {
      if (!ctx.parsed.text.includes(GTUBE)) return [];
      return [{ name: 'GTUBE', score: 1000, force: 'reject', detail: 'GTUBE test message' }];
    },
  };
}
