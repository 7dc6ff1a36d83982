// A blocklist's TXT record for a listing (RFC 5782 section 2.1: "the TXT record ... describes the reason"),
// made fit for an SMTP reply and a log: the text comes from DNS, so nothing in it is trusted.
import { shownZone } from './dnsbl-name.ts';

/** The longest reason kept, as Postfix keeps the first 200 or so characters of $rbl_reason's text. */
export const REASON_MAX = 200;

/**
 * One line of printable ASCII from a listing's TXT records (each a list of character-strings, read joined as
 * RFC 7208 section 3.3 reads SPF's), several records separated by "; ", or '' when nothing is left:
 * - control characters (CR LF first: a reply line of its own) become a space, runs of spaces one;
 * - other characters than printable ASCII are dropped: a reply is ASCII without SMTPUTF8 (RFC 5321
 *   section 4.2, textstring; RFC 6531 section 3.7.4 allows UTF-8 only to a client that asked);
 * - a zone's access key (shownZone: Spamhaus DQS "<key>.zen.dq.spamhaus.net") goes wherever it appears, in
 *   any case: Spamhaus's DQS answers can name the query, and a refused client must not learn the key. This
 *   runs after the other two, which could otherwise join the pieces of a key split by a control character;
 * - then the text is cut at `max` characters.
 */
export function listingReason(records: string[][], zone: string, max = REASON_MAX): string {
  const texts = [...new Set(records.map((r) => r.join('')))];
  let text = texts
    .join('; ')
    .replace(/[\x00-\x1f\x7f]/g, ' ')
    .replace(/[^\x20-\x7e]/gu, '');
  const shown = shownZone(zone);
  if (shown !== zone) {
    const key = zone.slice(0, zone.length - shown.length - 1).toLowerCase();
    // "<query>.<key>.<zone>" reads as the query under the shown zone; the key anywhere else is cut out.
    const cut = (t: string) => t.replace(new RegExp(`${key}\\.?`, 'gi'), '');
    text = cut(text);
    // Cutting a key out can join its neighbours into another ("KE" + "KEY" + "Y" for the key "KEY"): no
    // reason then, rather than cuts in a loop.
    if (text.toLowerCase().includes(key)) return '';
  }
  return text.replace(/ {2,}/g, ' ').trim().slice(0, max).trim();
}
