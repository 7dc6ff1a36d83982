// Escaping for the XML documents client setup writes (autoconfig, Autodiscover, Apple profiles).

/** Text or attribute content: every markup character escaped. */
export function xml(s: string | number): string {
  return String(s).replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * An e-mail address as clients send it: one @, a plausible domain, no spaces or markup, and no control
 * characters (the address is echoed into XML, and XML 1.0 section 2.2 cannot carry C0 controls even as
 * references, nor U+FFFE/U+FFFF; no address has them: RFC 5321 section 4.1.2, RFC 6531 section 3.3).
 */
export function parseEmail(raw: string | null | undefined): { address: string; domain: string } | null {
  if (!raw) return null;
  const a = raw.trim();
  if (a.length > 320) return null;
  const m = /^([^\s@<>"'&\x00-\x1f\x7f\ufffe\uffff]+)@([A-Za-z0-9.-]+\.?)$/.exec(a);
  if (!m) return null;
  return { address: a, domain: m[2].toLowerCase().replace(/\.$/, '') };
}
