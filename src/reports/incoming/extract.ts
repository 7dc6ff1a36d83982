// Finding the report in a message: the part that carries a DMARC aggregate report (RFC 9990 section 3.5:
// XML, gzip or zip) or a TLS report (RFC 8460 section 5.3: application/tlsrpt+gzip or +json), decoded and
// decompressed within fixed bounds (a zip or gzip bomb stops at the limit, it is not inflated further).
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { decodePartBody } from '../../mime/decode.ts';
import { parseMessage } from '../../mime/parse.ts';
import type { MimePart } from '../../mime/types.ts';
import { endOfCentralDirectory } from '../../spam/content/zip.ts';

/** Reports are small; anything larger than this once decompressed is not one we read. */
export const MAX_REPORT_BYTES = 20 * 1024 * 1024;
const MAX_PARTS = 50;

const TYPES = new Set([
  'application/gzip',
  'application/x-gzip',
  'application/zip',
  'application/x-zip-compressed',
  'application/xml',
  'text/xml',
  'application/tlsrpt+gzip',
  'application/tlsrpt+json',
  'application/json',
]);

/** Whether a part looks like a report attachment, by its type or its file name. */
function candidate(p: MimePart): boolean {
  const name = (p.disposition?.params.filename ?? p.params.name ?? '').toLowerCase();
  // application/octet-stream counts only with such a name (some reporters send it that way).
  if (/\.(xml|json)(\.gz)?$|\.(zip|gz)$/.test(name)) return true;
  return TYPES.has(`${p.type}/${p.subtype}`);
}

function parts(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const walk = (p: MimePart) => {
    if (out.length >= MAX_PARTS) return;
    if (p.children.length) for (const c of p.children) walk(c);
    else out.push(p);
  };
  walk(root);
  return out;
}

/** The first file of a zip archive, inflated (PKWARE APPNOTE 4.3: end record, central directory, local header). */
export function firstZipEntry(buf: Buffer): Buffer | null {
  const eocd = buf.length >= 22 ? endOfCentralDirectory(buf) : -1;
  if (eocd < 0) return null;
  const cd = buf.readUInt32LE(eocd + 16);
  if (cd + 46 > buf.length || buf.readUInt32LE(cd) !== 0x02014b50) return null;
  const method = buf.readUInt16LE(cd + 10);
  const size = buf.readUInt32LE(cd + 20);
  const local = buf.readUInt32LE(cd + 42);
  if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) return null;
  const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
  if (start + size > buf.length) return null;
  const data = buf.subarray(start, start + size);
  if (method === 0) return data.length <= MAX_REPORT_BYTES ? Buffer.from(data) : null;
  if (method !== 8) return null;
  return inflateRawSync(data, { maxOutputLength: MAX_REPORT_BYTES });
}

/** The part's content as the report text: gunzipped or unzipped when compressed. Throws on damage. */
export function unpack(body: Buffer): Buffer | null {
  if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b)
    return gunzipSync(body, { maxOutputLength: MAX_REPORT_BYTES });
  if (body.length >= 4 && body.readUInt32LE(0) === 0x04034b50) return firstZipEntry(body);
  return body;
}

export type FoundReport =
  | { kind: 'dmarc'; xml: string }
  | { kind: 'tls'; json: string }
  /** An ARF authentication-failure report (RFC 5965, RFC 6591, RFC 9991): its fields and the original's header section. */
  | { kind: 'failure'; fields: string; headers: string };

/** The feedback-report part of an ARF message (RFC 5965 section 2: multipart/report; report-type=feedback-report). */
function arf(raw: Buffer, root: MimePart): FoundReport | null {
  if (root.type !== 'multipart' || root.subtype !== 'report') return null;
  if ((root.params['report-type'] ?? '').toLowerCase() !== 'feedback-report') return null;
  const report = root.children.find((p) => p.type === 'message' && p.subtype === 'feedback-report');
  if (!report || report.size > 65536) return null;
  const original = root.children.find(
    (p) => (p.type === 'text' && p.subtype === 'rfc822-headers') || (p.type === 'message' && p.subtype === 'rfc822'),
  );
  const headers = original ? decodePartBody(raw, original).subarray(0, 16384).toString('latin1') : '';
  return {
    kind: 'failure',
    fields: decodePartBody(raw, report).toString('latin1'),
    headers: headers.split(/\r?\n\r?\n/)[0],
  };
}

/** The report a message carries, or null. Parts that fail to decompress are skipped. */
export function findReport(raw: Buffer): FoundReport | null {
  const msg = parseMessage(raw);
  const failure = arf(raw, msg.root);
  if (failure) return failure;
  for (const p of parts(msg.root)) {
    if (!candidate(p) || p.size > MAX_REPORT_BYTES) continue;
    let text: string;
    try {
      const data = unpack(decodePartBody(raw, p));
      if (!data) continue;
      text = data
        .toString('utf8')
        .replace(/^\uFEFF/, '')
        .trim();
    } catch {
      continue;
    }
    if (text.startsWith('<') && /<feedback[\s>]/.test(text.slice(0, 4096))) return { kind: 'dmarc', xml: text };
    if (text.startsWith('{') && text.includes('"policies"')) return { kind: 'tls', json: text };
  }
  return null;
}
