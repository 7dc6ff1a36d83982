// What is dangerous about a message's attachments: executables (by extension, and by magic bytes whatever
// the name), double extensions (invoice.pdf.exe), macro-enabled Office files (.docm..., vbaProject.bin
// inside an OOXML zip, a .doc or .xls with a VBA project: content/office.ts) and password-protected archives (zip, RAR, 7z: content/archive.ts). Files inside
// an archive are judged by name like attachments, and archives inside a zip are opened in turn. HTML and
// SVG attachments, today's favourite phishing carrier (a login page that runs locally, past every link
// scanner), are found by name or type, and
// "active" when they hold a form asking for secrets, a script that decodes or redirects, or a refresh to
// elsewhere. Pure: the content scan runs it (spam/scan); the policy that scores or refuses each kind is
// the attachments check (spam/checks/attachments.ts).

import { decodeAttribute } from '../../mime/html.ts';
import type { ParsedMessage } from '../../mime/types.ts';
import { type ArchiveBudget, listArchive } from './archive.ts';
import { credentialForm } from './forms.ts';
import { oleEncrypted, oleMacros, ooxmlMacros, rtfObject } from './office.ts';
import { type Leaf, leaves, MAX_LEAVES, tooManyLeaves } from './parts.ts';
import { startTags } from './tags.ts';
import { browserText } from './urls.ts';
import { zipExtract, zipInnerArchives } from './zip.ts';

export type Kind =
  | 'executable'
  | 'double_extension'
  | 'macro'
  /** An RTF document holding an embedded or linked OLE object (exploits ride there). */
  | 'rtf_object'
  | 'encrypted_archive'
  | 'html'
  | 'html_active'
  /** An archive listing more files than are read (10,000): the rest went unjudged. */
  | 'too_many_entries'
  /** A message of more MIME parts than are read (500): the rest went unjudged. */
  | 'too_many_parts';

/**
 * What one message's attachments may decompress in all: 7z file lists, archives inside zips, PDF object
 * streams (16 MB is thousands of archives' or PDFs' worth).
 */
export const messageBudget = (): ArchiveBudget => ({ unpacked: 16 * 1024 * 1024 });
/** Extensions of files a browser opens as a page (an .hta is an executable, judged as one). */
const HTML_EXTENSIONS = new Set(['htm', 'html', 'shtml', 'xhtml', 'xht', 'mht', 'mhtml', 'svg']);
/** HTML of an attachment read for active content. */
const MAX_ACTIVE_HTML = 1024 * 1024;
/**
 * Script that decodes hidden text or sends the reader elsewhere (HTML smuggling, redirect pages), or a
 * meta refresh; a file built in the page and saved (a Blob through createObjectURL or msSaveOrOpenBlob),
 * the HTML smuggling Microsoft describes (QakBot, Mekotio, EnvyScout). Each alternative starts at a word
 * and consumes a bounded run: linear in the input.
 */
const ACTIVE_SCRIPT =
  /\b(?:atob|unescape|fromCharCode|eval|decodeURIComponent|createObjectURL|msSaveOrOpenBlob|msSaveBlob)\s{0,20}\(|\blocation(?:\.href|\.replace|\.assign)?\s{0,20}(?:=[^=]|\()|\bdocument\.write(?:ln)?\s{0,20}\(|<meta[^>]{0,200}http-equiv\s{0,20}=\s{0,20}["']?refresh/i;
/** Tags whose URL a browser loads or offers for download from the page itself. */
const DATA_TAGS = new Set(['a', 'area', 'iframe', 'frame', 'embed', 'object']);
/** A data: URL of anything but a picture. */
const DATA_URL = /^data:(?!image\/(?:png|gif|jpe?g|webp|bmp|x-icon)[;,])/i;

/**
 * A link, a frame or an embedded object whose URL (entities decoded) is a data: URL other than a picture:
 * a file carried inside the page, offered for download or shown in a frame (HTML smuggling).
 */
function dataUrlContent(html: string): boolean {
  for (const tag of startTags(html, DATA_TAGS))
    for (const a of tag.attributes)
      if (
        (a.name === 'href' || a.name === 'src' || a.name === 'data') &&
        DATA_URL.test(decodeAttribute(a.value).trim())
      )
        return true;
  return false;
}

/**
 * Whether an HTML or SVG attachment's content is active: a secrets field, a decoding script, a redirect.
 * A password field counts without a form around it: opened from disk the page runs its scripts, which post
 * the field themselves (fetch, $.ajax), as phishing kits sent as files do.
 */
export function activeHtml(body: Buffer): boolean {
  const head = body.subarray(0, MAX_ACTIVE_HTML);
  const html = browserText(head, () => head.toString('latin1'));
  return ACTIVE_SCRIPT.test(html) || credentialForm(html, false) || dataUrlContent(html);
}

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

/** Trailing dots and blanks: what Windows drops from a name when it saves the file. */
function droppedAtEnd(c: number): boolean {
  return c === 0x2e || c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c > 0x7f && /\s/.test(String.fromCharCode(c)));
}

/**
 * The last path part of a name as Windows saves it: trailing dots and blanks dropped (Win32 path
 * normalisation), so that "invoice.pdf.exe." and "setup.exe . ." are the executables they become on disk.
 * Found by loops from the end, never splitting the whole name: an archive can list
 * megabytes of names, and a regular expression like /[.\s]+$/ is quadratic in a run that is not at the end.
 */
function savedName(name: string): string {
  let start = name.length; // after the last "/" or "\\"
  while (start > 0 && name.charCodeAt(start - 1) !== 0x2f && name.charCodeAt(start - 1) !== 0x5c) start--;
  let end = name.length;
  while (end > start && droppedAtEnd(name.charCodeAt(end - 1))) end--;
  return name.slice(start, end);
}

/** Longer extensions are in no list: not lower-cased, so a name costs the same whatever its length. */
const MAX_EXTENSION = 64;

/** One extension as the lists spell it: blanks around it trimmed, lower case; '' when too long to be one. */
function extension(s: string): string {
  const e = s.trim();
  return e.length > MAX_EXTENSION ? '' : e.toLowerCase();
}

/** The last extension of a name and the one before it (the decoy of a double extension), or null: none. */
function lastExtensions(base: string): { last: string; prev?: string } | null {
  const dot = base.lastIndexOf('.');
  if (dot < 0) return null;
  const before = dot > 0 ? base.lastIndexOf('.', dot - 1) : -1;
  return {
    last: extension(base.slice(dot + 1)),
    prev: before < 0 ? undefined : extension(base.slice(before + 1, dot)),
  };
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

/**
 * What is dangerous about one file name (inside an archive or not): only its last path part and that
 * part's last two extensions are read.
 */
export function judgeName(name: string, executables: Set<string>): Kind[] {
  const base = savedName(name);
  const ext = lastExtensions(base);
  if (!ext) return [];
  const { last, prev } = ext;
  const kinds: Kind[] = [];
  if (executables.has(last)) {
    kinds.push('executable');
    if ((prev && DECOY_EXTENSIONS.has(prev)) || blanksBeforeExtension(base)) kinds.push('double_extension');
  }
  if (MACRO_EXTENSIONS.has(last)) kinds.push('macro');
  if (HTML_EXTENSIONS.has(last)) kinds.push('html');
  return kinds;
}

export interface Finding {
  kind: Kind;
  file: string;
}

/** Internet shortcut extensions (Windows .url, Internet Explorer's pinned-site .website). */
const SHORTCUTS = new Set(['url', 'website']);

/**
 * Whether an Internet shortcut only opens a web page: each URL= and IconFile= of it is http(s). The
 * campaigns' shortcuts point at a file: or UNC path (DarkGate, CVE-2024-21412: a script or another
 * shortcut on a WebDAV share) or take their icon from one (it leaks NTLM); people have mailed web links as
 * .url files since Outlook Express, and those are links, not programs.
 */
export function webShortcut(body: Buffer): boolean {
  // Line by line: multi-line patterns starting with ^\s* retried from every line of a run of blank lines
  // (quadratic: 100,000 of them held a scan worker for 24 s).
  const lines = body
    .subarray(0, 64 * 1024)
    .toString('latin1')
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim());
  if (!lines.some((l) => /^\[(?:InternetShortcut|\{[0-9A-F-]+\})\]/i.test(l))) return false;
  const values = lines.flatMap((l) => {
    const m = /^(?:URL|IconFile|BASEURL)\s*=(.*)$/i.exec(l);
    return m ? [m[1].trim()] : [];
  });
  return values.length > 0 && values.every((v) => /^https?:\/\/[^\\]*$/i.test(v));
}

/** Everything dangerous about one attachment: its name, its magic bytes, and a zip's contents. */
export function inspectAttachment(
  filename: string,
  body: Buffer,
  executables: Set<string>,
  /** The part's type says HTML or SVG (text/html, image/svg+xml), whatever its name. */
  htmlType = false,
  /** Shared by a message's attachments (see ArchiveBudget). */
  budget: ArchiveBudget = messageBudget(),
): Finding[] {
  let out: Finding[] = judgeName(filename, executables).map((kind) => ({ kind, file: filename }));
  if (SHORTCUTS.has(lastExtensions(savedName(filename))?.last ?? '') && webShortcut(body))
    out = out.filter((f) => f.kind !== 'executable' && f.kind !== 'double_extension');
  if (htmlType && !out.some((f) => f.kind === 'html')) out.push({ kind: 'html', file: filename || 'unnamed' });
  if (out.some((f) => f.kind === 'html') && activeHtml(body))
    out.push({ kind: 'html_active', file: filename || 'unnamed' });
  const magic = executableMagic(body);
  if (magic && !out.some((f) => f.kind === 'executable'))
    out.push({ kind: 'executable', file: `${filename || 'unnamed'} (${magic})` });
  // A .doc or .xls (whatever its name: Word opens a renamed one by its content) with a VBA project, as
  // SpamAssassin's OLEVBMacro and rspamd's oletools find them.
  if (!out.some((f) => f.kind === 'macro') && oleMacros(body)) out.push({ kind: 'macro', file: filename || 'unnamed' });
  if (rtfObject(body)) out.push({ kind: 'rtf_object', file: filename || 'unnamed' });
  // A password-protected Office document hides its content from scanners as an encrypted zip does.
  if (oleEncrypted(body)) out.push({ kind: 'encrypted_archive', file: filename || 'unnamed' });
  inspectArchive(filename, body, executables, budget, out, 0);
  return out;
}

/** Names of Office 97-2003 documents and templates (Word, Excel, PowerPoint) and RTF inside a zip. */
const OLE_DOCUMENT = /\.(?:doc|dot|xls|xlt|xla|ppt|pot|pps|rtf)$/i;
/** Such documents opened per zip. */
const MAX_INNER_DOCUMENTS = 10;

/** How deep archives inside archives are opened (a zip in a zip in a zip). */
const MAX_ARCHIVE_DEPTH = 2;

/** An archive's files judged by name, its password noted, and archives inside a zip opened in turn. */
function inspectArchive(
  label: string,
  body: Buffer,
  executables: Set<string>,
  budget: ArchiveBudget,
  out: Finding[],
  depth: number,
): void {
  const archive = listArchive(body, budget, label);
  if (!archive) return;
  const where = label || `unnamed ${archive.format}`;
  const add = (kind: Kind, file: string) => {
    if (!out.some((f) => f.kind === kind)) out.push({ kind, file });
  };
  if (archive.namesHidden || archive.entries.some((e) => e.encrypted)) add('encrypted_archive', where);
  if (archive.truncated) add('too_many_entries', `${where} (more than ${archive.entries.length} files)`);
  // An Office package (OOXML) says in its content types whether it holds macros, whatever the parts' names.
  if (
    archive.format === 'zip' &&
    archive.entries.some((e) => e.name === '[Content_Types].xml') &&
    ooxmlMacros(body, budget)
  )
    add('macro', `${where} (macro content types)`);
  for (const e of archive.entries) {
    if (/(^|\/)vbaProject\.bin$/i.test(e.name)) add('macro', `${label} (${e.name})`);
    for (const kind of judgeName(e.name, executables)) add(kind, `${where}/${e.name}`);
  }
  // Office 97-2003 and RTF documents in a zip (Emotet's "invoice.zip" of a .doc) are opened for a VBA
  // project or an embedded object.
  if (archive.format === 'zip')
    for (const doc of zipExtract(body, (name) => OLE_DOCUMENT.test(name), budget, MAX_INNER_DOCUMENTS)) {
      if (oleMacros(doc.data)) add('macro', `${where}/${doc.name}`);
      if (rtfObject(doc.data)) add('rtf_object', `${where}/${doc.name}`);
    }
  if (archive.format === 'zip' && depth < MAX_ARCHIVE_DEPTH)
    for (const inner of zipInnerArchives(body, budget))
      inspectArchive(`${where}/${inner.name}`, inner.data, executables, budget, out, depth + 1);
}

/**
 * Whether a leaf is an HTML or SVG file sent as an attachment (by its type, or its name's extension), as
 * attachmentFindings judges it: never the message's own HTML body.
 */
export function isHtmlAttachment(l: Leaf): boolean {
  const body = l.part.type === 'text' && l.part.disposition?.type !== 'attachment';
  if (body) return false;
  if (l.part.type === 'text' && l.part.subtype === 'html') return true;
  if (l.part.type === 'image' && l.part.subtype === 'svg+xml') return true;
  return l.names.some((name) => judgeName(name, NO_EXECUTABLES).includes('html'));
}

const NO_EXECUTABLES = new Set<string>();

/**
 * The first line of a file encoded in plain text, its name captured: uuencode ("begin 644 name", and
 * "begin-base64") and yEnc ("=ybegin ... name=name"), which Thunderbird's libmime (MimeUntypedText) shows
 * as attachments. Anchored at a line start, bounded by the line: linear.
 */
const ENCODED_FILE =
  /^(?:begin(?:-base64)? [0-7]{3,4} ([^\r\n]{1,1000})|=ybegin [^\r\n]{0,200}?\bname=([^\r\n]{1,1000}))$/gm;
/** Encoded files looked at per text part. */
const MAX_ENCODED_FILES = 20;

/** The names of files uuencoded or yEncoded in a plain text. */
function encodedFileNames(text: string): string[] {
  const out: string[] = [];
  if (!text.includes('begin')) return out;
  for (const m of text.matchAll(ENCODED_FILE)) {
    out.push((m[1] ?? m[2]).trim());
    if (out.length >= MAX_ENCODED_FILES) break;
  }
  return out;
}

/** The findings of every attachment of a message: anything named, or of a non-text type. */
export function attachmentFindings(
  raw: Buffer,
  parsed: ParsedMessage,
  executables: Set<string>,
  budget: ArchiveBudget = messageBudget(),
): Finding[] {
  const out: Finding[] = [];
  for (const l of leaves(raw, parsed)) {
    // Anything named, or of a non-text type, or marked as an attachment is looked at. Text the reader sees
    // as the message (not marked as an attachment) is a body, not a file: looked at by name only when it
    // has one, and never as an HTML file (the phishing check reads HTML bodies).
    const body = l.part.type === 'text' && l.part.disposition?.type !== 'attachment';
    // Files encoded inside a plain-text body are attachments to the reader's client.
    if (l.part.type === 'text' && l.part.subtype === 'plain')
      for (const name of encodedFileNames(l.text()))
        for (const kind of judgeName(name, executables)) out.push({ kind, file: name });
    if (body && !l.names.length) continue;
    const found = inspectAttachment(l.filename, l.body(), executables, isHtmlAttachment(l), budget);
    // The part's other names (Content-Type name= beside filename=, a repeated parameter): any of them may
    // be the one a client saves the file under.
    for (const name of l.names)
      if (name !== l.filename)
        for (const kind of judgeName(name, executables))
          if (!found.some((f) => f.kind === kind)) found.push({ kind, file: name });
    out.push(...(body ? found.filter((f) => f.kind !== 'html' && f.kind !== 'html_active') : found));
  }
  if (tooManyLeaves(raw, parsed)) out.push({ kind: 'too_many_parts', file: `more than ${MAX_LEAVES} parts` });
  return out;
}
