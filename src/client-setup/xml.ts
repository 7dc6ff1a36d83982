// Escaping for the XML documents client setup writes (autoconfig, Autodiscover, Apple profiles).

/** Text or attribute content: every markup character escaped. */
export function xml(s: string | number): string {
  return String(s).replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An e-mail address as clients send it: one @, a plausible domain, no spaces or markup. */
export function parseEmail(raw: string | null | undefined): { address: string; domain: string } | null {
  if (!raw) return null;
  const a = raw.trim();
  if (a.length > 320) return null;
  const m = /^([^\s@<>"'&]+)@([A-Za-z0-9.-]+\.?)$/.exec(a);
  if (!m) return null;
  return { address: a, domain: m[2].toLowerCase().replace(/\.$/, '') };
}
