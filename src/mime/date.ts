// Parses RFC 5322 section 3.3 dates (and the obsolete and broken forms seen in real mail) to ms since the epoch.

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

// RFC 5322 section 4.3 obs-zone, plus zone names common in real mail; minutes east of UTC.
const ZONES: Record<string, number> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
  bst: 60,
  ist: 330,
  cet: 60,
  cest: 120,
  met: 60,
  mest: 120,
  eet: 120,
  eest: 180,
  wet: 0,
  west: 60,
  jst: 540,
  kst: 540,
  hkt: 480,
  aest: 600,
  aedt: 660,
  nzst: 720,
  nzdt: 780,
};

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Parses a Date: header value. Accepts a missing day-of-week, 2- and 3-digit years (section 4.3),
 * named and military zones, missing seconds, comments, dashes ("21-Nov-97") and asctime order
 * ("Thu Aug 22 12:36:23 2002"). Returns null when no valid day, month, year and time are found.
 */
export function parseDate(value: string): number | null {
  return parseDateParts(value)?.ms ?? null;
}

/**
 * Like parseDate, also returning the zone as written (minutes east of UTC; 0 when absent or unknown):
 * IMAP SENTBEFORE/SENTON/SENTSINCE compare the date as the sender wrote it (RFC 9051 section 6.4.4).
 */
export function parseDateParts(value: string): { ms: number; zone: number } | null {
  // A real date is short; the cap keeps hostile values cheap.
  const text = value
    .slice(0, 512)
    .replace(/\([^()]*\)/g, ' ')
    .toLowerCase();
  let day = -1;
  let month = -1;
  let year = -1;
  let yearDigits = 0;
  let hour = -1;
  let minute = 0;
  let second = 0;
  let zone: number | null = null;
  for (const raw of text.split(/[\s,]+/)) {
    if (raw === '') continue;
    const parts = /[a-z]/.test(raw) && raw.includes('-') && !/^[+-]/.test(raw) ? raw.split('-') : [raw];
    for (const tok of parts) {
      if (tok === '') continue;
      let m: RegExpExecArray | null;
      if ((m = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/.exec(tok)) !== null && year < 0) {
        // Numeric "2002/09/14" or ISO "2002-09-14" dates, seen from broken mailers.
        year = Number(m[1]);
        yearDigits = 4;
        month = Number(m[2]) - 1;
        day = Number(m[3]);
      } else if ((m = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?$/.exec(tok)) !== null && hour < 0) {
        hour = Number(m[1]);
        minute = Number(m[2]);
        second = m[3] === undefined ? 0 : Number(m[3]);
      } else if ((m = /^([+-])(\d{2}):?(\d{2})$/.exec(tok)) !== null && hour >= 0 && zone === null) {
        const mins = Number(m[2]) * 60 + Number(m[3]);
        zone = m[1] === '-' ? -mins : mins;
      } else if (/^\d+$/.test(tok)) {
        if (tok.length <= 2 && day < 0) day = Number(tok);
        else if (year < 0 && tok.length <= 4) {
          year = Number(tok);
          yearDigits = tok.length;
        }
      } else if (/^[a-z]+\.?$/.test(tok)) {
        const word = tok.replace('.', '');
        const mi = MONTHS.indexOf(word.slice(0, 3));
        if (month < 0 && mi >= 0 && word.length >= 3 && (word.length === 3 || word.startsWith(MONTHS[mi]))) month = mi;
        else if (zone === null && hour >= 0 && word in ZONES) zone = ZONES[word];
        else if (zone === null && hour >= 0 && word.length === 1 && word !== 'j') zone = 0; // military: treated as -0000
      }
    }
  }
  if (day < 1 || month < 0 || month > 11 || year < 0 || hour < 0) return null;
  // Section 4.3: two-digit years below 50 are 20xx, others 19xx; three-digit years add 1900.
  if (yearDigits <= 2) year += year < 50 ? 2000 : 1900;
  else if (yearDigits === 3) year += 1900;
  if (day > DAYS_IN_MONTH[month] || hour > 23 || minute > 59 || second > 60) return null;
  const ms = Date.UTC(year, month, day, hour, minute, Math.min(second, 59)) - (zone ?? 0) * 60_000;
  return Number.isFinite(ms) ? { ms, zone: zone ?? 0 } : null;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 section 3.3 date-time in UTC: "Tue, 07 Jan 2026 10:00:00 +0000". */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  return (
    `${DAY_NAMES[d.getUTCDay()]}, ${pad2(d.getUTCDate())} ${MONTH_NAMES[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`
  );
}
