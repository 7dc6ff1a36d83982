// Reads a part's Content-* header fields (RFC 2045 sections 5-8, RFC 2183, RFC 3066 language) into MimePart attributes.
import type { HeaderField } from './header.ts';
import { addProblem } from './limits.ts';
import { parseContentType, parseDisposition } from './params.ts';
import type { MimePart } from './types.ts';

/** The MimePart attributes that come from the part's own header. */
export type PartInfo = Pick<
  MimePart,
  | 'type'
  | 'subtype'
  | 'params'
  | 'rawParams'
  | 'id'
  | 'description'
  | 'encoding'
  | 'md5'
  | 'disposition'
  | 'language'
  | 'location'
  | 'written'
>;

/** First whitespace-, comment- or semicolon-delimited token, as written ("7BIT (default)" -> "7BIT"). */
function firstToken(value: string): string {
  const m = /^[ \t]*([^ \t(;]*)/.exec(value);
  return m === null ? '' : m[1];
}

/**
 * Builds the attributes of one part. `inDigest` selects the RFC 2046 section 5.1.5 default
 * (message/rfc822) instead of the RFC 2045 section 5.2 one (text/plain).
 */
export function partInfo(fields: HeaderField[], inDigest: boolean, problems: string[]): PartInfo {
  let contentType: string | undefined;
  let encoding: string | undefined;
  let id: string | undefined;
  let description: string | undefined;
  let md5: string | undefined;
  let disposition: string | undefined;
  let language: string | undefined;
  let location: string | undefined;
  for (const f of fields) {
    const n = f.name;
    if (n.length < 10 || (n[0] !== 'C' && n[0] !== 'c')) continue;
    // The first occurrence of each field counts.
    switch (n.toLowerCase()) {
      case 'content-type':
        contentType ??= f.value;
        break;
      case 'content-transfer-encoding':
        encoding ??= f.value;
        break;
      case 'content-id':
        id ??= f.value;
        break;
      case 'content-description':
        description ??= f.value;
        break;
      case 'content-md5':
        md5 ??= f.value;
        break;
      case 'content-disposition':
        disposition ??= f.value;
        break;
      case 'content-language':
        language ??= f.value;
        break;
      case 'content-location':
        location ??= f.value;
        break;
    }
  }
  const ct = contentType === undefined ? null : parseContentType(contentType);
  if (contentType !== undefined && ct === null) addProblem(problems, 'unparseable Content-Type; default used');
  const dispo = disposition === undefined ? null : parseDisposition(disposition);
  const langs =
    language === undefined
      ? []
      : language
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  const rawEnc = encoding === undefined ? '' : firstToken(encoding);
  const enc = rawEnc.toLowerCase();
  const written: NonNullable<PartInfo['written']> = {};
  if (ct && ct.rawType !== ct.type) written.type = ct.rawType;
  if (ct && ct.rawSubtype !== ct.subtype) written.subtype = ct.rawSubtype;
  if (rawEnc !== enc) written.encoding = rawEnc;
  if (dispo && dispo.rawType !== dispo.type) written.disposition = dispo.rawType;
  const dispoOut = dispo ? { type: dispo.type, params: dispo.params, rawParams: dispo.rawParams } : null;
  return {
    type: ct?.type ?? (inDigest ? 'message' : 'text'),
    subtype: ct?.subtype ?? (inDigest ? 'rfc822' : 'plain'),
    params: ct?.params ?? {},
    rawParams: ct?.rawParams ?? [],
    id: id?.trim() || null,
    description: description ?? null,
    encoding: enc === '' ? '7bit' : enc,
    md5: md5?.trim() || null,
    disposition: dispoOut,
    language: langs.length > 0 ? langs : null,
    location: location?.trim() || null,
    ...(Object.keys(written).length ? { written } : {}),
  };
}

/** A part with no header and the given body range: for empty sections and the fallback of a failed parse. */
export function barePart(start: number, end: number, type: string, subtype: string): MimePart {
  return {
    headerStart: start,
    headerEnd: start,
    bodyStart: start,
    bodyEnd: end,
    type,
    subtype,
    params: {},
    rawParams: [],
    id: null,
    description: null,
    encoding: '7bit',
    md5: null,
    disposition: null,
    language: null,
    location: null,
    size: end - start,
    lines: 0,
    children: [],
    message: null,
  };
}
