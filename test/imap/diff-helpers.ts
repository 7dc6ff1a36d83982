// Helpers for the Dovecot differential suite: loading the same messages into Petrel and Dovecot over
// IMAP, listing every section of a message from its BODYSTRUCTURE, and fetching one item at a time.
import type { RawImap } from '../helpers/imap-client.ts';

/** Appends messages with pipelined LITERAL+ APPENDs (both servers support RFC 7888). */
export async function appendAll(c: RawImap, box: string, messages: Buffer[]): Promise<void> {
  const batch = 50;
  for (let i = 0; i < messages.length; i += batch) {
    const tags: string[] = [];
    for (const m of messages.slice(i, i + batch)) {
      const tag = c.nextTag();
      tags.push(tag);
      c.send(Buffer.concat([Buffer.from(`${tag} APPEND ${box} {${m.length}+}\r\n`), m, Buffer.from('\r\n')]));
    }
    for (const t of tags) {
      const r = await c.until(t, 30000);
      if (!/ OK /.test(r.tagged)) throw new Error(`APPEND failed: ${r.tagged}`);
    }
  }
}

/** Splits a BODYSTRUCTURE into its parts: path, whether multipart, whether message/rfc822. */
export interface PartShape {
  path: string;
  multipart: boolean;
  message: boolean;
}

/** Parses the nested-list text of a BODYSTRUCTURE just enough to find the parts. */
export function partsOf(bodystructure: string): PartShape[] {
  let i = 0;
  const s = bodystructure;
  type V = string | null | V[];
  const value = (): V => {
    while (s[i] === ' ') i++;
    if (s[i] === '(') {
      i++;
      const out: V[] = [];
      for (;;) {
        while (s[i] === ' ') i++;
        if (s[i] === ')') {
          i++;
          return out;
        }
        out.push(value());
      }
    }
    if (s[i] === '"') {
      let out = '';
      i++;
      while (s[i] !== '"') {
        if (s[i] === '\\') i++;
        out += s[i++];
      }
      i++;
      return out;
    }
    if (s[i] === '{') {
      const end = s.indexOf('}', i);
      const n = Number(s.slice(i + 1, end));
      const start = end + 3;
      const bytes = Buffer.from(s.slice(start), 'utf8').subarray(0, n).toString('utf8');
      i = start + bytes.length;
      return bytes;
    }
    const m = /^[^ ()]+/.exec(s.slice(i))!;
    i += m[0].length;
    return m[0] === 'NIL' ? null : m[0];
  };
  const root = value() as V[];
  const out: PartShape[] = [];
  const walk = (node: V[], path: string, top: boolean) => {
    const multipart = Array.isArray(node[0]);
    const message =
      !multipart &&
      String(node[0]).toLowerCase() === 'message' &&
      ['rfc822', 'global'].includes(String(node[1]).toLowerCase());
    if (!top || !multipart) out.push({ path: path || '1', multipart, message });
    if (multipart) {
      let n = 1;
      for (const c of node) {
        if (!Array.isArray(c)) break; // children lead; the subtype follows them
        walk(c, path ? `${path}.${n}` : String(n), false);
        n++;
      }
    } else if (message && Array.isArray(node[8])) {
      const inner = node[8] as V[];
      if (Array.isArray(inner[0])) {
        let n = 1;
        for (const c of inner) {
          if (!Array.isArray(c)) break;
          walk(c, `${path || '1'}.${n}`, false);
          n++;
        }
      } else walk(inner, `${path || '1'}.1`, false);
    }
  };
  walk(root, '', true);
  return out;
}

/** FETCH of one item for one message; returns the response with the sequence number removed. */
export async function fetchOne(c: RawImap, seq: number, item: string): Promise<string> {
  const r = await c.cmd(`FETCH ${seq} (${item})`, 30000);
  if (!/ OK /.test(r.tagged)) return `ERROR ${r.tagged.replace(/^\S+ /, '')}`;
  const line = r.lines.find((l) => l.startsWith(`* ${seq} FETCH (`));
  return line ? line.slice(`* ${seq} FETCH `.length) : 'NONE';
}
