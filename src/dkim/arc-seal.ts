// ARC sealing (RFC 8617 section 5.1) of mail we forward: an ARC-Authentication-Results with what we
// verified on the way in, an ARC-Message-Signature and an ARC-Seal, signed with the forwarding domain's
// DKIM key (mailauth's sealer), so the final receiver can trust our results when SPF no longer aligns.
import { createSeal } from 'mailauth/lib/arc/index.js';
import type { DkimKey } from './keys.ts';

export interface SealInput {
  /** The Authentication-Results value we computed (authserv-id first). */
  authResults: string;
  /** Our verdict on the chain as it arrived (RFC 8617 section 4.1.3): none, pass or fail. */
  cv: 'none' | 'pass' | 'fail';
}

/**
 * The ARC header fields to prepend (ending CRLF), or '' when mailauth refuses (a chain whose newest seal
 * already failed, 50 sets); `why` then holds the reason. Input lines must end in CRLF.
 */
export async function arcSealHeaders(
  raw: Buffer,
  key: DkimKey,
  input: SealInput,
  now = new Date(),
): Promise<{ headers: string; why?: string }> {
  const res = await createSeal(raw, {
    seal: {
      signingDomain: key.domain,
      selector: key.selector,
      privateKey: key.privateKey,
      algorithm: key.algorithm === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256',
      authResults: input.authResults,
      cv: input.cv,
      signTime: now,
    },
  } as never);
  if (!res.headers.length)
    return { headers: '', why: res.errors.map((e) => (e as { err?: Error }).err?.message ?? String(e)).join('; ') };
  return { headers: `${res.headers.join('\r\n')}\r\n` };
}
