// The digests a message is known by in Petrel's own digest store (spam/checks/digests.ts): the Pyzor-style
// body digest and the SHA-256 of each attachment.
import { createHash } from 'node:crypto';
import type { ParsedMessage } from '../../mime/types.ts';
import { leaves } from '../content/parts.ts';

const MAX_ATTACHMENTS = 10;

/**
 * The digests of a message: "body:<sha1>" (its Pyzor digest, when the body has digestible lines: `body`,
 * computed by the caller) and "att:<sha256>" of each attachment.
 */
export function messageDigests(raw: Buffer, parsed: ParsedMessage, body: string | null): string[] {
  const out: string[] = [];
  if (body !== null) out.push(`body:${body}`);
  for (const l of leaves(raw, parsed)) {
    if (out.length > MAX_ATTACHMENTS) break;
    if (l.part.type === 'text' && !l.filename) continue;
    const data = l.body();
    if (data.length >= 64) out.push(`att:${createHash('sha256').update(data).digest('hex')}`);
  }
  return out;
}
