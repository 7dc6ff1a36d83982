// DKIM signing of outgoing mail (RFC 6376; ed25519-sha256 RFC 8463) with mailauth's signer: one
// signature per key of the author's domain (an RSA and an Ed25519 key give two, as RFC 8463 advises).
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { parseAddressList } from '../mime/address.ts';
import { getField, parseHeaderBlock } from '../mime/header.ts';
import type { DkimKey } from './keys.ts';

/** The header fields signed: the RFC 6376 section 5.4.1 list that matters for display and threading. */
const SIGNED_HEADERS = [
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'Content-ID',
  'Content-Description',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'Auto-Submitted',
];

/** Domain of the first From address (RFC 5322 section 3.6.2), lower case; null when there is none. */
export function authorDomain(raw: Buffer): string | null {
  const problems: string[] = [];
  const block = parseHeaderBlock(raw, 0, raw.length, { maxHeaderFields: 1000, maxHeaderLineLength: 100_000 }, problems);
  const from = getField(block.fields, 'from');
  if (!from) return null;
  const first = parseAddressList(from).find((a) => a.host);
  return first?.host ? first.host.toLowerCase() : null;
}

/**
 * Returns the message with DKIM-Signature fields prepended, one per key; the message unchanged when there
 * are no keys. Input lines must end in CRLF. Throws when mailauth cannot sign (a broken key).
 */
export async function signMessage(raw: Buffer, keys: DkimKey[], now = new Date()): Promise<Buffer> {
  if (keys.length === 0) return raw;
  // The signer reads every signature from signatureData; the top-level d=/s=/key only satisfy the type.
  const [k0] = keys;
  const res = await dkimSign(raw, {
    signingDomain: k0.domain,
    selector: k0.selector,
    privateKey: k0.privateKey,
    canonicalization: 'relaxed/relaxed',
    signTime: now,
    headerList: SIGNED_HEADERS,
    signatureData: keys.map((k) => ({
      signingDomain: k.domain,
      selector: k.selector,
      privateKey: k.privateKey,
      algorithm: k.algorithm === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256',
      canonicalization: 'relaxed/relaxed',
    })),
  });
  if (res.errors?.length) throw new Error(`DKIM signing failed: ${res.errors.map((e) => e.err?.message).join('; ')}`);
  return Buffer.concat([Buffer.from(res.signatures), raw]);
}
