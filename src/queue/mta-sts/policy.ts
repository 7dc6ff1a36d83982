// MTA-STS (RFC 8461) grammar, no I/O: the "_mta-sts" TXT record (section 3.1), the policy file (section
// 3.2), and MX host matching (section 4.1).

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  mode: StsMode;
  /** Allowed MX patterns, lower case: names, or "*.suffix" (one left-most label). */
  mx: string[];
  /** Seconds the policy may be cached from its fetch (at most 31557600). */
  maxAge: number;
}

/** Longest policy file read (section 3.3 suggests 64 KB). */
export const MAX_POLICY_BYTES = 64 * 1024;
const MAX_AGE = 31_557_600;

/**
 * The policy id of a domain's TXT records, or null when there is no usable record: records not starting
 * with "v=STSv1;" are ignored; anything but exactly one remaining, valid record means no policy.
 */
export function stsRecordId(records: string[][]): string | null {
  const sts = records.map((r) => r.join('')).filter((r) => /^v=STSv1\s*(;|$)/.test(r));
  if (sts.length !== 1) return null;
  let id: string | null = null;
  for (const field of sts[0].split(';').slice(1)) {
    const f = field.trim();
    if (f === '') continue;
    const eq = f.indexOf('=');
    if (eq <= 0) return null;
    const name = f.slice(0, eq);
    const value = f.slice(eq + 1);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(name) || !/^[\x21-\x3a\x3c\x3e-\x7e]+$/.test(value)) return null;
    if (name === 'id' && id === null) {
      if (!/^[A-Za-z0-9]{1,32}$/.test(value)) return null;
      id = value;
    }
  }
  return id;
}

const DOMAIN = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Parses a policy file; null when it is not a valid STSv1 policy. Unknown fields are ignored. */
export function parsePolicy(text: string): StsPolicy | null {
  let version: string | undefined;
  let mode: string | undefined;
  let maxAge: string | undefined;
  const mx: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    // The look-behind starts a try only where a run of blanks starts: /[ \t]+$/ alone retries from every blank
    // of a long run that ends before the line does, quadratic in the line (a policy of 64 KB held the event loop).
    const line = raw.replace(/(?<![ \t])[ \t]+$/, '');
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^[ \t]+/, '');
    // Non-repeated fields: the first one counts (section 3.2).
    if (name === 'version') version ??= value;
    else if (name === 'mode') mode ??= value;
    else if (name === 'max_age') maxAge ??= value;
    else if (name === 'mx') mx.push(value.toLowerCase());
  }
  if (version !== 'STSv1') return null;
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') return null;
  if (maxAge === undefined || !/^\d{1,10}$/.test(maxAge)) return null;
  if (mode !== 'none' && mx.length === 0) return null;
  if (mx.some((m) => !DOMAIN.test(m))) return null;
  return { mode, mx, maxAge: Math.min(Number(maxAge), MAX_AGE) };
}

/** Whether an MX host name matches a policy pattern ("*.example.com" matches one label, section 4.1). */
export function mxMatches(host: string, pattern: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!pattern.startsWith('*.')) return h === pattern;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === pattern.slice(2);
}

export const mxAllowed = (host: string, policy: StsPolicy) => policy.mx.some((p) => mxMatches(host, p));
