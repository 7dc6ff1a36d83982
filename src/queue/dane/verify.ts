// Authenticating an SMTP server by its TLSA records (RFC 7672 section 3, RFC 6698 section 2.1): DANE-EE(3)
// matches the server's own certificate or key, with no name or date checks; DANE-TA(2) matches a CA the
// server sent in its chain, then the chain up to it is checked and the certificate must name the host.
import { createHash, X509Certificate } from 'node:crypto';
import type { TlsaRecord } from './lookup.ts';

/** RFC 7672 section 3.1.3: PKIX-TA(0) and PKIX-EE(1) are not used for MTA-to-MTA SMTP ("unusable"). */
export function usableTlsa(r: TlsaRecord): boolean {
  return (r.usage === 2 || r.usage === 3) && (r.selector === 0 || r.selector === 1) && r.matchingType <= 2;
}

/** The certificate association data a record's selector and matching type make of a certificate. */
export function association(cert: X509Certificate, selector: number, matchingType: number): Buffer {
  const data = selector === 0 ? cert.raw : (cert.publicKey.export({ type: 'spki', format: 'der' }) as Buffer);
  if (matchingType === 0) return data;
  return createHash(matchingType === 1 ? 'sha256' : 'sha512')
    .update(data)
    .digest();
}

const matches = (cert: X509Certificate, r: TlsaRecord) => association(cert, r.selector, r.matchingType).equals(r.data);

export type DaneResult =
  | { ok: true; usage: 'DANE-EE' | 'DANE-TA' }
  | { ok: false; type: 'tlsa-invalid' | 'certificate-host-mismatch' | 'certificate-expired'; reason: string };

/** Whether `cert` is inside its validity period at `now`. */
const current = (cert: X509Certificate, now: number) =>
  Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);

/**
 * Checks the presented chain (DER, the server's certificate first) against the usable TLSA records.
 * `names`: the reference identifiers for DANE-TA name checks (section 3.2.2).
 */
export function daneVerify(chainDer: Buffer[], records: TlsaRecord[], names: string[], now = Date.now()): DaneResult {
  const usable = records.filter(usableTlsa);
  if (chainDer.length === 0) return { ok: false, type: 'tlsa-invalid', reason: 'the server sent no certificate' };
  let chain: X509Certificate[];
  try {
    chain = chainDer.map((d) => new X509Certificate(d));
  } catch {
    return { ok: false, type: 'tlsa-invalid', reason: 'the server sent a certificate that does not parse' };
  }
  const leaf = chain[0];
  // Section 3.1.1: the server's own certificate or key; names and expiry are not looked at.
  if (usable.some((r) => r.usage === 3 && matches(leaf, r))) return { ok: true, usage: 'DANE-EE' };
  let fault: DaneResult | null = null;
  for (const r of usable.filter((x) => x.usage === 2)) {
    // Section 3.1.2: the trust anchor must be in the chain the server sent (not the leaf itself).
    const ta = chain.findIndex((c, i) => i > 0 && matches(c, r));
    if (ta < 0) continue;
    let broken: string | null = null;
    for (let k = 0; k < ta && !broken; k++) {
      const [c, issuer] = [chain[k], chain[k + 1]];
      if (!issuer.ca) broken = `${issuer.subject.replace(/\n/g, ', ')} is not a CA`;
      else if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey))
        broken = 'the chain to the trust anchor does not verify';
    }
    if (broken) {
      fault = { ok: false, type: 'tlsa-invalid', reason: broken };
      continue;
    }
    if (!chain.slice(0, ta + 1).every((c) => current(c, now))) {
      fault = {
        ok: false,
        type: 'certificate-expired',
        reason: 'a certificate of the chain is expired or not yet valid',
      };
      continue;
    }
    // Section 3.2.3: DNS-IDs (the CN only without them), a wildcard as the whole first label.
    const named = names.some(
      (n) => leaf.checkHost(n, { subject: 'default', wildcards: true, partialWildcards: false }) !== undefined,
    );
    if (!named) {
      fault = {
        ok: false,
        type: 'certificate-host-mismatch',
        reason: `the certificate names none of ${names.join(', ')}`,
      };
      continue;
    }
    return { ok: true, usage: 'DANE-TA' };
  }
  return fault ?? { ok: false, type: 'tlsa-invalid', reason: 'no TLSA record matches the certificate chain' };
}
