// The digests a message is known by in Petrel's own digest store (spam/checks/digests.ts): the Pyzor-style
// body digest, the SHA-256 of each attachment and the fuzzy digests of its text (spam/digest/fuzzy.ts).
import { createHash } from 'node:crypto';
import type { ParsedMessage } from '../../mime/types.ts';
import { leaves } from '../content/parts.ts';
import { fuzzyDigests } from './fuzzy.ts';

const MAX_ATTACHMENTS = 10;

/**
 * The digests of a message: "body:<sha1>" (its Pyzor digest, when the body has digestible lines: `body`,
 * computed by the caller), "att:<sha256>" of each attachment, and the fuzzy digests of the text
 * ("fz1.<band>:...", none for a short text; none when `fuzzy` is off).
 */
export function messageDigests(raw: Buffer, parsed: ParsedMessage, body: string | null, fuzzy = true): string[] {
  const out: string[] = [];
  if (body !== null) out.push(`body:${body}`);
  for (const l of leaves(raw, parsed)) {
    if (out.length > MAX_ATTACHMENTS) break;
    if (l.part.type === 'text' && !l.filename) continue;
    const data = l.body();
    if (data.length >= 64) out.push(`att:${createHash('sha256').update(data).digest('hex')}`);
  }
  if (fuzzy) out.push(...fuzzyDigests(parsed.text));
  return out;
}
