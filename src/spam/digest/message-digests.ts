// The digests a message is known by in Petrel's own digest store (spam/checks/digests.ts): the Pyzor-style
// body digest and the SHA-256 of each attachment.
import { createHash } from 'node:crypto';
import type { ParsedMessage } from '../../mime/types.ts';
import { leaves } from '../content/parts.ts';
import { digestLines, pyzorDigest } from './pyzor-digest.ts';

const MAX_ATTACHMENTS = 10;

/** The digests of a message: "body:<sha1>" (when the body has digestible lines) and "att:<sha256>" each. */
export function messageDigests(raw: Buffer, parsed: ParsedMessage): string[] {
  const out: string[] = [];
  if (digestLines(raw, parsed).length) out.push(`body:${pyzorDigest(raw, parsed)}`);
  for (const l of leaves(raw, parsed)) {
    if (out.length > MAX_ATTACHMENTS) break;
    if (l.part.type === 'text' && !l.filename) continue;
    const body = l.body();
    if (body.length >= 64) out.push(`att:${createHash('sha256').update(body).digest('hex')}`);
  }
  return out;
}
