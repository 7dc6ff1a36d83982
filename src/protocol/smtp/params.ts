// ESMTP parameters of MAIL and RCPT (RFC 5321 section 4.1.2, RFC 6531 section 3.3) and the typed values
// of the ones Petrel knows: SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), RET/ENVID
// and NOTIFY/ORCPT (RFC 3461), AUTH (RFC 4954 section 5), REQUIRETLS (RFC 8689). xtext: RFC 3461 section 4.
import { isUtf8 } from 'node:buffer';

export interface EsmtpParam {
  /** Upper-cased keyword. */
  keyword: string;
  value: string | null;
}

export type ParamsResult = { ok: true; params: EsmtpParam[] } | { ok: false; reason: string };

const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// esmtp-value = 1*(%d33-60 / %d62-126), plus UTF8-non-ascii (RFC 6531 section 3.3).
const VALUE = /^[\x21-\x3c\x3e-\x7e\u0080-\u{10FFFF}]+$/u;

/** Splits " KEY=value KEY2" (what follows the path) into parameters. */
export function parseParams(s: string): ParamsResult {
  const params: EsmtpParam[] = [];
  const seen = new Set<string>();
  for (const tok of s.split(' ')) {
    if (tok === '') continue;
    const eq = tok.indexOf('=');
    const keyword = (eq < 0 ? tok : tok.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? null : tok.slice(eq + 1);
    if (!KEYWORD.test(keyword)) return { ok: false, reason: `bad parameter ${keyword.slice(0, 40)}` };
    if (value !== null && !VALUE.test(value)) return { ok: false, reason: `bad value for ${keyword}` };
    if (seen.has(keyword)) return { ok: false, reason: `${keyword} given twice` };
    seen.add(keyword);
    params.push({ keyword, value });
  }
  return { ok: true, params };
}

/** xtext (RFC 3461 section 4): "+XX" hex escapes for '+', '=', controls and non-ASCII; null when malformed. */
export function decodeXtext(s: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (c >= 33 && c <= 126 && c !== 0x3d) bytes.push(c);
    else return null;
  }
  const buf = Buffer.from(bytes);
  return isUtf8(buf) ? buf.toString('utf8') : buf.toString('latin1');
}

export function encodeXtext(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b >= 33 && b <= 126 && b !== 0x2b && b !== 0x3d) out += String.fromCharCode(b);
    else out += `+${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export interface MailParams {
  size?: number;
  body?: '7BIT' | '8BITMIME' | 'BINARYMIME';
  smtpUtf8: boolean;
  ret?: 'FULL' | 'HDRS';
  envId?: string;
  /** AUTH=<mailbox> (xtext-decoded), '<>' for none. */
  auth?: string;
  requireTls: boolean;
}

export interface RcptParams {
  notify?: ('SUCCESS' | 'FAILURE' | 'DELAY')[] | 'NEVER';
  /** "addr-type;address", the address xtext-decoded (RFC 3461 section 4.2). */
  orcpt?: string;
}

/** Which parameters the session may accept (what it announced in EHLO). */
export interface ParamPolicy {
  size: boolean;
  body8: boolean;
  binary: boolean;
  smtpUtf8: boolean;
  dsn: boolean;
  auth: boolean;
  requireTls: boolean;
}

export type Typed<T> = { ok: true; value: T } | { ok: false; reason: string; unknown?: boolean };

/** Typed MAIL parameters; an unknown or unannounced keyword fails with `unknown` (555 5.5.4). */
export function mailParams(params: EsmtpParam[], p: ParamPolicy): Typed<MailParams> {
  const v: MailParams = { smtpUtf8: false, requireTls: false };
  for (const { keyword, value } of params) {
    if (keyword === 'SIZE' && p.size) {
      if (value === null || !/^\d{1,15}$/.test(value)) return { ok: false, reason: 'SIZE needs a number' };
      v.size = Number(value);
    } else if (keyword === 'BODY' && p.body8) {
      const b = value?.toUpperCase();
      if (b === '7BIT' || b === '8BITMIME' || (b === 'BINARYMIME' && p.binary)) v.body = b;
      else return { ok: false, reason: 'BODY must be 7BIT or 8BITMIME' + (p.binary ? ' or BINARYMIME' : '') };
    } else if (keyword === 'SMTPUTF8' && p.smtpUtf8) {
      if (value !== null) return { ok: false, reason: 'SMTPUTF8 takes no value' };
      v.smtpUtf8 = true;
    } else if (keyword === 'RET' && p.dsn) {
      const r = value?.toUpperCase();
      if (r !== 'FULL' && r !== 'HDRS') return { ok: false, reason: 'RET must be FULL or HDRS' };
      v.ret = r;
    } else if (keyword === 'ENVID' && p.dsn) {
      const d = value === null ? null : decodeXtext(value);
      if (d === null || d.length > 100) return { ok: false, reason: 'bad ENVID' };
      v.envId = d;
    } else if (keyword === 'AUTH' && p.auth) {
      const d = value === null ? null : decodeXtext(value);
      if (d === null) return { ok: false, reason: 'bad AUTH parameter' };
      v.auth = d;
    } else if (keyword === 'REQUIRETLS' && p.requireTls) {
      if (value !== null) return { ok: false, reason: 'REQUIRETLS takes no value' };
      v.requireTls = true;
    } else return { ok: false, reason: `parameter ${keyword} not supported`, unknown: true };
  }
  return { ok: true, value: v };
}

/** Typed RCPT parameters (RFC 3461 section 4.1 NOTIFY, 4.2 ORCPT). */
export function rcptParams(params: EsmtpParam[], p: ParamPolicy): Typed<RcptParams> {
  const v: RcptParams = {};
  for (const { keyword, value } of params) {
    if (keyword === 'NOTIFY' && p.dsn) {
      const items = (value ?? '').toUpperCase().split(',');
      if (items.length === 1 && items[0] === 'NEVER') v.notify = 'NEVER';
      else {
        const ok = items.every((x) => x === 'SUCCESS' || x === 'FAILURE' || x === 'DELAY');
        if (!ok || new Set(items).size !== items.length) return { ok: false, reason: 'bad NOTIFY' };
        v.notify = items as ('SUCCESS' | 'FAILURE' | 'DELAY')[];
      }
    } else if (keyword === 'ORCPT' && p.dsn) {
      const semi = value?.indexOf(';') ?? -1;
      const type = value?.slice(0, semi) ?? '';
      const addr = semi > 0 ? decodeXtext(value!.slice(semi + 1)) : null;
      if (!/^[A-Za-z0-9-]+$/.test(type) || addr === null || addr === '') return { ok: false, reason: 'bad ORCPT' };
      v.orcpt = `${type};${addr}`;
    } else return { ok: false, reason: `parameter ${keyword} not supported`, unknown: true };
  }
  return { ok: true, value: v };
}
