// Derives what search and clients want at a glance from a parsed tree: body text, preview, attachment flag.
import { partText } from './decode.ts';
import { addProblem } from './limits.ts';
import type { MimePart } from './types.ts';

export interface Summary {
  text: string;
  /** The cap left text out: search must look at the message itself past the index. */
  cut: boolean;
  preview: string;
  hasAttachment: boolean;
}

const PREVIEW_LENGTH = 256;
// Signatures are not what a person calls an attachment.
const SIGNATURES = new Set(['pgp-signature', 'pkcs7-signature', 'x-pkcs7-signature']);

function isReadable(part: MimePart): boolean {
  return (
    part.type === 'text' &&
    (part.subtype === 'plain' || part.subtype === 'html') &&
    part.disposition?.type !== 'attachment'
  );
}

/** RFC 8970 section 3: whitespace collapsed, at most 256 characters, no split surrogate pair; '' if blank. */
function makePreview(text: string): string {
  let out = '';
  let count = 0;
  let space = false;
  for (let i = 0; i < text.length && count < PREVIEW_LENGTH; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c === 0xa0 || c === 0x2028 || c === 0x2029 || c === 0x3000) {
      space = count > 0;
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
      if (++count === PREVIEW_LENGTH) break;
    }
    // Keep a surrogate pair whole or not at all.
    if (c >= 0xd800 && c <= 0xdbff) {
      if (count + 2 > PREVIEW_LENGTH) break;
      out += text.slice(i, i + 2);
      count += 2;
      i++;
    } else {
      out += text[i];
      count++;
    }
  }
  return out;
}

/** Any part with disposition "attachment", or a non-text leaf that is not inline content of multipart/related. */
function attachmentIn(part: MimePart, parent: MimePart | null): boolean {
  if (part.disposition?.type === 'attachment') return true;
  if (part.type === 'multipart') return part.children.some((c) => attachmentIn(c, part));
  if (part.type === 'text' || (part.type === 'application' && SIGNATURES.has(part.subtype))) return false;
  const related = parent !== null && parent.type === 'multipart' && parent.subtype === 'related';
  return !(related && (part.disposition === null || part.disposition.type === 'inline'));
}

/** A text/* leaf, and whether it is inside an encapsulated message. */
export interface TextLeaf {
  part: MimePart;
  nested: boolean;
}

/** The text/* leaves of a tree, encapsulated messages included, in order: the parts whose text search covers. */
export function textLeaves(root: MimePart): TextLeaf[] {
  const out: TextLeaf[] = [];
  const visit = (part: MimePart, nested: boolean): void => {
    for (const child of part.children) visit(child, nested);
    if (part.message !== null) visit(part.message.root, true);
    if (part.type === 'text') out.push({ part, nested });
  };
  visit(root, false);
  return out;
}

/**
 * Text of every text/* leaf (SEARCH BODY covers all of the body's text, RFC 9051 section 6.4.4), capped
 * at maxText characters; `cut` says the cap left some of it out.
 */
export function summarize(raw: Buffer, root: MimePart, maxText: number, problems: string[]): Summary {
  const pieces: string[] = [];
  let total = 0;
  let cut = false;
  let preview: string | null = null;
  let fallbackPreview: string | null = null;
  for (const { part, nested } of textLeaves(root)) {
    if (total >= maxText) {
      cut ||= part.size > 0;
      continue;
    }
    // Decode at most what the cap could use (8 encoded bytes per character) of a huge body.
    const limited = { ...part, bodyEnd: Math.min(part.bodyEnd, part.bodyStart + (maxText - total) * 8 + 8) };
    if (limited.bodyEnd < part.bodyEnd) cut = true;
    let text: string;
    try {
      text = partText(raw, limited);
    } catch {
      addProblem(problems, 'text part could not be decoded');
      continue;
    }
    if (isReadable(part) && (preview === null || fallbackPreview === null)) {
      const p = makePreview(text);
      if (p !== '') {
        if (!nested) preview ??= p;
        fallbackPreview ??= p;
      }
    }
    pieces.push(text);
    total += text.length + 1;
  }
  let text = pieces.join('\n');
  if (text.length > maxText) {
    text = text.slice(0, maxText);
    cut = true;
  }
  return { text, cut, preview: preview ?? fallbackPreview ?? '', hasAttachment: attachmentIn(root, null) };
}
