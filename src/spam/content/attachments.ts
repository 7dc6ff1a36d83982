// What is dangerous about a message's attachments: executables (by extension, and by magic bytes whatever
// the name), double extensions (invoice.pdf.exe), macro-enabled Office files (.docm..., or vbaProject.bin
// inside an OOXML zip) and password-protected zips (the encrypted flag in the central directory). Entries
// inside a zip are judged by name like attachments. Pure: the content scan runs it (spam/scan); the
// policy that scores or refuses each kind is the attachments check (spam/checks/attachments.ts).
import type { ParsedMessage } from '../../mime/types.ts';
import { leaves } from './parts.ts';
import { isZip, listZip } from './zip.ts';

export type Kind = 'executable' | 'double_extension' | 'macro' | 'encrypted_archive';

const MACRO_EXTENSIONS = new Set(['docm', 'dotm', 'xlsm', 'xltm', 'xlam', 'pptm', 'potm', 'ppsm', 'ppam', 'sldm']);
/** Extensions a double-extension trick hides behind (what the victim thinks they open). */
const DECOY_EXTENSIONS = new Set([
  'pdf',
  'doc',
  'docx',
  'xls',
  'xlsx',
  'ppt',
  'pptx',
  'txt',
  'rtf',
  'jpg',
  'jpeg',
  'png',
  'gif',
  'zip',
  'rar',
  'htm',
  'html',
  'csv',
  'odt',
  'mp3',
  'mp4',
  'avi',
  'wav',
]);

function extensions(name: string): string[] {
  return name
    .toLowerCase()
    .trimEnd() // not /\s+$/, which is quadratic in a run of blanks that is not at the end
    .split('.')
    .slice(1)
    .map((e) => e.trim());
}

/** An executable by magic bytes: PE (MZ), ELF, Mach-O (thin, fat). */
export function executableMagic(b: Buffer): string | null {
  if (b.length < 4) return null;
  if (b[0] === 0x4d && b[1] === 0x5a) return 'PE';
  if (b.readUInt32BE(0) === 0x7f454c46) return 'ELF';
  const m = b.readUInt32BE(0);
  if (m === 0xfeedface || m === 0xfeedfacf || m === 0xcefaedfe || m === 0xcffaedfe || m === 0xcafebabe) return 'Mach-O';
  return null;
}

/**
 * "invoice.pdf      .exe": three or more blanks before the last extension (what /\s{3,}\.[^.]+$/
 * says, without its quadratic retries along a long run of blanks).
 */
function blanksBeforeExtension(name: string): boolean {
  const dot = name.lastIndexOf('.');
  if (dot < 3 || dot === name.length - 1) return false;
  return /\s/.test(name[dot - 1]) && /\s/.test(name[dot - 2]) && /\s/.test(name[dot - 3]);
}

/** What is dangerous about one file name (inside a zip or not). */
export function judgeName(name: string, executables: Set<string>): Kind[] {
  const ext = extensions(name.split(/[\\/]/).pop() ?? name);
  if (!ext.length) return [];
  const last = ext[ext.length - 1];
  const kinds: Kind[] = [];
  if (executables.has(last)) {
    kinds.push('executable');
    const prev = ext[ext.length - 2];
    if ((prev && DECOY_EXTENSIONS.has(prev)) || blanksBeforeExtension(name)) kinds.push('double_extension');
  }
  if (MACRO_EXTENSIONS.has(last)) kinds.push('macro');
  return kinds;
}

export interface Finding {
  kind: Kind;
  file: string;
}

/** Everything dangerous about one attachment: its name, its magic bytes, and a zip's contents. */
export function inspectAttachment(filename: string, body: Buffer, executables: Set<string>): Finding[] {
  const out: Finding[] = judgeName(filename, executables).map((kind) => ({ kind, file: filename }));
  const magic = executableMagic(body);
  if (magic && !out.some((f) => f.kind === 'executable'))
    out.push({ kind: 'executable', file: `${filename || 'unnamed'} (${magic})` });
  if (isZip(body)) {
    const z = listZip(body);
    for (const e of z?.entries ?? []) {
      if (e.encrypted && !out.some((f) => f.kind === 'encrypted_archive'))
        out.push({ kind: 'encrypted_archive', file: filename || 'unnamed zip' });
      if (/(^|\/)vbaProject\.bin$/i.test(e.name) && !out.some((f) => f.kind === 'macro'))
        out.push({ kind: 'macro', file: `${filename} (${e.name})` });
      for (const kind of judgeName(e.name, executables))
        if (!out.some((f) => f.kind === kind)) out.push({ kind, file: `${filename}/${e.name}` });
    }
  }
  return out;
}

/** The findings of every attachment of a message: anything named, or of a non-text type. */
export function attachmentFindings(raw: Buffer, parsed: ParsedMessage, executables: Set<string>): Finding[] {
  const out: Finding[] = [];
  for (const l of leaves(raw, parsed)) {
    // Readable body text is no attachment; anything named, or of a non-text type, is looked at.
    if (!l.filename && l.part.type === 'text') continue;
    out.push(...inspectAttachment(l.filename, l.body(), executables));
  }
  return out;
}
