// Dates in search keys: the IMAP date argument (RFC 9051 section 9, date-text) and the calendar day a
// stored timestamp falls on, which BEFORE/ON/SINCE and their SENT and SAVED forms compare.
import { parseDateParts } from '../../mime/date.ts';
import { utcTime } from '../../protocol/imap/encode.ts';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
export const DAY_MS = 86_400_000;

/** date-text = date-day "-" date-month "-" date-year, e.g. "1-Feb-1994"; returns its UTC midnight in ms. */
export function parseImapDate(text: string): number | null {
  const m = /^([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})$/.exec(text);
  if (!m) return null;
  const day = Number(m[1]);
  const month = MONTHS.indexOf(m[2].toLowerCase());
  const year = Number(m[3]);
  if (month < 0 || day < 1) return null;
  const ms = utcTime(year, month, day);
  // utcTime rolls 30-Feb over into March: such a date is not a date.
  if (new Date(ms).getUTCDate() !== day) return null;
  return ms;
}

/** UTC midnight of the day an instant falls on, seen at `zoneMinutes` east of UTC. */
export function dayOf(ms: number, zoneMinutes = 0): number {
  const local = ms + zoneMinutes * 60_000;
  return local - (((local % DAY_MS) + DAY_MS) % DAY_MS);
}

/**
 * The day of a Date: header as the sender wrote it, "disregarding time and timezone" (RFC 9051 section
 * 6.4.4, SENTBEFORE/SENTON/SENTSINCE); null when the header is absent or unparseable.
 */
export function sentDay(dateHeader: string | null): number | null {
  if (dateHeader === null) return null;
  const p = parseDateParts(dateHeader);
  return p === null ? null : dayOf(p.ms, p.zone);
}

/** BEFORE/ON/SINCE on a day (UTC midnight ms) against the day of the value. */
export function compareDay(op: 'before' | 'on' | 'since', valueDay: number, day: number): boolean {
  if (op === 'before') return valueDay < day;
  if (op === 'on') return valueDay === day;
  return valueDay >= day;
}
