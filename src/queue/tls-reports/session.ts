// What one outbound session says for SMTP TLS reporting (RFC 8460 section 4): the policy applied to the
// recipient domain (its MTA-STS policy, the MX host's DANE TLSA records, or none found), and whether a policy-compliant TLS session was
// made, or the result type of the failure (section 4.3) with a reason code.
import type { StsPolicy } from '../mta-sts/policy.ts';

export type TlsResultType =
  | 'starttls-not-supported'
  | 'certificate-host-mismatch'
  | 'certificate-expired'
  | 'certificate-not-trusted'
  | 'validation-failure'
  | 'sts-policy-fetch-error'
  | 'sts-policy-invalid'
  | 'sts-webpki-invalid'
  | 'tlsa-invalid'
  | 'dnssec-invalid'
  | 'dane-required';

export interface TlsSessionResult {
  /** The recipient (policy) domain. */
  domain: string;
  /** The MTA-STS policy applied, or null (policy-type "no-policy-found"). */
  policy: StsPolicy | null;
  /** The DANE TLSA records that governed the session (policy-type "tlsa"), which take the place of MTA-STS. */
  dane?: { base: string; records: string[] } | null;
  /** null: a successful, policy-compliant TLS session. */
  failure: {
    type: TlsResultType;
    reason?: string;
    mx?: string;
    receivingIp?: string;
    sendingIp?: string;
  } | null;
}

/** The result type of a certificate that did not verify (the SMTP client's verifyError). */
export function certificateFailure(verifyError: string | null): TlsResultType {
  if (!verifyError) return 'certificate-not-trusted';
  if (/does not match certificate|altnames|no certificate/i.test(verifyError)) return 'certificate-host-mismatch';
  if (/CERT_HAS_EXPIRED|expired/i.test(verifyError)) return 'certificate-expired';
  return 'certificate-not-trusted';
}

/** The policy-string of RFC 8460 section 4.5: the MTA-STS policy as its lines. */
export function policyStrings(p: StsPolicy): string[] {
  return ['version: STSv1', `mode: ${p.mode}`, ...p.mx.map((m) => `mx: ${m}`), `max_age: ${p.maxAge}`];
}
