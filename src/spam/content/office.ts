// Macros in Office documents of the binary format (.doc, .xls, .ppt: OLE2 compound files), objects
// embedded in RTF documents, and links inside Office documents (.docx, .xlsx, .pptx and their macro and
// template kinds): a document that says "click to view the invoice" carries its link as an external
// relationship (ECMA-376 Part 2, Open Packaging Conventions section 9.3: a Relationship with
// TargetMode="External"), in the package's *.rels parts, which are small XML files in the zip. Only those
// parts are inflated, within the message's allowance, at most MAX_PARTS per document.
import type { ParsedMessage } from '../../mime/types.ts';
import type { ArchiveBudget } from './archive.ts';
import { leaves } from './parts.ts';
import { type FoundUrl, parseCandidate } from './urls.ts';
import { isZip, zipExtract } from './zip.ts';

const MAX_PARTS = 50;
const RELS = /(^|\/)_rels\/[^/]*\.rels$/i;
// [^<>]: an attempt ends at the next tag, so a part of unclosed tags is read once (linear), not 4 KB per "<".
const RELATIONSHIP = /<(?:\w+:)?Relationship\b[^<>]{0,4096}>/g;

/** The external targets of a package's relationships (XML entities decoded), at most `max`. */
export function officeTargets(zip: Buffer, budget: ArchiveBudget, max = 200): string[] {
  const out: string[] = [];
  // An Office package has [Content_Types].xml; other zips are archives, judged by attachments.ts.
  if (!isZip(zip) || !zip.includes('[Content_Types].xml')) return out;
  for (const part of zipExtract(zip, (n) => RELS.test(n), budget, MAX_PARTS)) {
    for (const m of part.data.toString('utf8').matchAll(RELATIONSHIP)) {
      if (out.length >= max) return out;
      const attrs = m[0];
      if (!/\bTargetMode\s*=\s*["']External["']/i.test(attrs)) continue;
      const target = /\bTarget\s*=\s*(["'])([^"']*)\1/.exec(attrs)?.[2];
      if (target) out.push(decodeXml(target));
    }
  }
  return out;
}

function decodeXml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (e, name: string) => {
    const n = name.toLowerCase();
    if (n === 'amp') return '&';
    if (n === 'lt') return '<';
    if (n === 'gt') return '>';
    if (n === 'quot') return '"';
    if (n === 'apos') return "'";
    const code = n.startsWith('#x') ? Number.parseInt(n.slice(2), 16) : Number.parseInt(n.slice(1), 10);
    return Number.isFinite(code) && code < 0x110000 ? String.fromCodePoint(code) : e;
  });
}

/** The web links of a message's Office attachments (by content, whatever their name), at most `max`. */
export function officeLinks(raw: Buffer, parsed: ParsedMessage, budget: ArchiveBudget, max: number): FoundUrl[] {
  const out: FoundUrl[] = [];
  for (const l of leaves(raw, parsed)) {
    if (out.length >= max) break;
    if (l.part.type === 'text' || l.part.type === 'multipart') continue;
    for (const target of officeTargets(l.body(), budget, max - out.length)) {
      const u = /^(?:https?|ftp):/i.test(target) ? parseCandidate(target, { source: 'office' }) : null;
      if (u) out.push(u);
    }
  }
  return out;
}

/** The OLE2 compound file signature (MS-CFB section 2.2): Office 97-2003 documents, vbaProject.bin, .msg. */
const OLE_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
/** The stream every VBA project has (MS-OVBA section 2.2.1), as a directory entry's name. */
const VBA_STREAM = '_VBA_PROJECT';
/** The stream of a password-protected OOXML document (MS-OFFCRYPTO section 2.3.4.4: the package, encrypted). */
const ENCRYPTED_PACKAGE = 'EncryptedPackage';

/**
 * Whether an OLE2 compound file has a stream named `name`: a directory entry of that name.
 * Directory entries are 128-octet records (MS-CFB section 2.6.1: the UTF-16 name in 64 octets, its length
 * with the NUL at 64, the type at 66, 2 for a stream) in sectors that start at multiples of 512, so every
 * 128-octet slot is read: linear, and no sector chain is followed that a forged file could loop. Names
 * compare without case, as CFB's do (2.6.4).
 */
function oleStream(buf: Buffer, name: string): boolean {
  if (buf.length < 1024 || !buf.subarray(0, 8).equals(OLE_MAGIC)) return false;
  for (let at = 512; at + 128 <= buf.length; at += 128) {
    if (buf.readUInt16LE(at + 64) !== (name.length + 1) * 2 || buf[at + 66] !== 2) continue;
    if (buf.toString('utf16le', at, at + name.length * 2).toUpperCase() === name.toUpperCase()) return true;
  }
  return false;
}

/** Whether an OLE2 file holds a VBA project (Word's Macros/VBA, Excel's _VBA_PROJECT_CUR/VBA, PowerPoint's). */
export function oleMacros(buf: Buffer): boolean {
  return oleStream(buf, VBA_STREAM);
}

/** Whether an OLE2 file is a password-protected Office document (.docx, .xlsx... saved with a password). */
export function oleEncrypted(buf: Buffer): boolean {
  return oleStream(buf, ENCRYPTED_PACKAGE);
}

/**
 * Content types that make an OOXML package macro-enabled ([Content_Types].xml, ECMA-376 Part 2 section
 * 10.1.2): a VBA project whatever its part is named, a macro-enabled main part (.docm, .xlsm...), Excel 4
 * macro sheets.
 */
const MACRO_CONTENT_TYPE = /vnd\.ms-office\.vbaProject|\.macroEnabled|vnd\.ms-excel\.(?:intl)?macrosheet/i;
/** A [Content_Types].xml longer than this is not read (Word's is a few KB). */
const MAX_CONTENT_TYPES = 1024 * 1024;

/** Whether an OOXML package declares macros in its content types; `zip` is a zip holding [Content_Types].xml. */
export function ooxmlMacros(zip: Buffer, budget: ArchiveBudget): boolean {
  const [types] = zipExtract(zip, (n) => n === '[Content_Types].xml', budget, 1);
  return types !== undefined && MACRO_CONTENT_TYPE.test(types.data.subarray(0, MAX_CONTENT_TYPES).toString('utf8'));
}

/** What Word opens as RTF whatever the file's name: "{\rt" at the start, nothing more is checked. */
const RTF_START = Buffer.from('{\\rt', 'latin1');
/**
 * An embedded or linked object (RTF 1.9.1, "Objects": \objemb, \objlink, \objautlink, ... and the
 * \objdata that carries it), where the Equation Editor exploit (CVE-2017-11882) and OLE2Link
 * (CVE-2017-0199) ride; SpamAssassin's OLEVBMacro (OLERTF) looks for the same control words.
 */
const RTF_OBJECT = /\\obj(?:data|emb|link|autlink|ocx|sub|pub|icemb|html)(?![a-z])/i;

/** Whether a file Word reads as RTF holds an OLE object. */
export function rtfObject(buf: Buffer): boolean {
  if (buf.length < 8 || !buf.subarray(0, RTF_START.length).equals(RTF_START)) return false;
  return RTF_OBJECT.test(buf.toString('latin1'));
}
