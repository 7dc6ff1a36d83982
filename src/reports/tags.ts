// TXT records that are tag=value lists, as the reporting records are: DMARC (RFC 9989 section 4.7) and its
// report confirmations (RFC 9990 section 4), SMTP TLS reporting (RFC 8460 section 3).

/** A record's tags (tag=value pairs separated by ";", RFC 9989 section 4.7), names lower-cased, first of each kept. */
export function recordTags(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    if (!tags.has(name)) tags.set(name, part.slice(eq + 1).trim());
  }
  return tags;
}

/** The URIs of a "rua" tag value: comma-separated, trimmed, empty ones dropped. */
export const ruaList = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
