// Mailbox names and listings: validation, LIST pattern matching with `*` and `%` (RFC 9051 section
// 6.3.9), and STATUS items (RFC 9051 section 6.3.11, RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ, RFC 8474).

import type { Mailbox } from '../core/model.ts';
import { mailboxObjectId as objectIdOf } from '../core/object-ids.ts';
import type { MailService } from '../mailbox/service.ts';
import { ArgError } from './args.ts';

export const DELIMITER = '/';
const MAX_NAME = 512;
const MAX_DEPTH = 32;

/** Checks a name for CREATE/RENAME; returns it without a trailing delimiter (RFC 9051 section 6.3.4). */
export function validNewName(name: string): string {
  const n = name.endsWith(DELIMITER) ? name.slice(0, -1) : name;
  if (n === '') throw new ArgError('empty mailbox name');
  if (Buffer.byteLength(n) > MAX_NAME) throw new ArgError('mailbox name too long');
  if (/[\x00-\x1f\x7f-\x9f*%]/.test(n)) throw new ArgError('mailbox name contains a forbidden character');
  // RFC 9051 section 5.1: names are Net-Unicode (RFC 5198: NFC, no C1 controls); "café" written
  // decomposed would otherwise be a second mailbox that looks the same.
  if (n.normalize('NFC') !== n) throw new ArgError('mailbox name is not in Unicode normalization form C');
  const parts = n.split(DELIMITER);
  if (parts.length > MAX_DEPTH) throw new ArgError('mailbox hierarchy too deep');
  if (parts.some((p) => p === '')) throw new ArgError('mailbox name has an empty level');
  return n;
}

/** The names above a name: a/b/c -> [a, a/b]. */
export function parents(name: string): string[] {
  const parts = name.split(DELIMITER);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join(DELIMITER));
  return out;
}

/**
 * A LIST pattern as a matcher: `*` matches anything, `%` anything but the delimiter. Matched by stepping
 * the set of pattern positions along the name (an NFA), O(name x pattern). Not a regex: "*a*a*a*a*a*a*ab"
 * as /^.*a.*a.*a.*a.*a.*a.*ab$/ backtracks exponentially, and one LIST against a long mailbox name held
 * the event loop for most of a minute.
 */
export function patternMatcher(pattern: string): (name: string) => boolean {
  let p = pattern;
  if (/^inbox(\/|$)/i.test(p)) p = `INBOX${p.slice(5)}`;
  // Code points; a run of wildcards is one: "**", "%*" and "*%" match what "*" does, "%%" what "%" does.
  const tokens: string[] = [];
  let literals = 0;
  for (const ch of p) {
    const last = tokens[tokens.length - 1];
    if ((ch === '*' || ch === '%') && (last === '*' || last === '%')) {
      if (ch === '*') tokens[tokens.length - 1] = '*';
      continue;
    }
    tokens.push(ch);
    if (ch !== '*' && ch !== '%') literals++;
  }
  const m = tokens.length;
  const wild = tokens.map((t) => t === '*' || t === '%');
  /** Adds position i and the positions reachable from it without a character (wildcards match ""). */
  const add = (set: Uint8Array, i: number) => {
    for (; !set[i]; i++) {
      set[i] = 1;
      if (i >= m || !wild[i]) return;
    }
  };
  let cur = new Uint8Array(m + 1);
  let next = new Uint8Array(m + 1);
  return (name) => {
    // Each literal of the pattern takes a character of the name.
    if (literals > name.length) return false;
    cur.fill(0);
    add(cur, 0);
    for (const c of name) {
      next.fill(0);
      let alive = false;
      for (let i = 0; i < m; i++) {
        if (!cur[i]) continue;
        const t = tokens[i];
        if (t === '*' || (t === '%' && c !== DELIMITER)) add(next, i);
        else if (t === c) add(next, i + 1);
        else continue;
        alive = true;
      }
      if (!alive) return false;
      [cur, next] = [next, cur];
    }
    return cur[m] === 1;
  };
}

/** RFC 9051 section 6.3.9: the reference is prefixed to the pattern (no delimiter is added). */
export function joinReference(reference: string, pattern: string): string {
  if (reference === '' || pattern.startsWith(DELIMITER)) return pattern;
  return reference + pattern;
}

export const STATUS_ITEMS = [
  'MESSAGES',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'DELETED',
  'SIZE',
  'RECENT',
  'HIGHESTMODSEQ',
  'MAILBOXID',
  'APPENDLIMIT',
] as const;

export function mailboxObjectId(mb: Mailbox): string {
  return objectIdOf(mb.id);
}

/** `MESSAGES 3 UNSEEN 1 ...` for the items asked, in the order asked. */
export async function statusItems(
  mail: MailService,
  mb: Mailbox,
  items: string[],
  appendLimit: number,
): Promise<string> {
  const parts: string[] = [];
  for (const it of items) {
    switch (it) {
      case 'MESSAGES':
        parts.push(`MESSAGES ${mb.messages}`);
        break;
      case 'UIDNEXT':
        parts.push(`UIDNEXT ${mb.uidNext}`);
        break;
      case 'UIDVALIDITY':
        parts.push(`UIDVALIDITY ${mb.uidValidity}`);
        break;
      case 'UNSEEN':
        parts.push(`UNSEEN ${mb.unseen}`);
        break;
      case 'DELETED':
        parts.push(`DELETED ${mb.deleted}`);
        break;
      case 'SIZE':
        parts.push(`SIZE ${mb.size}`);
        break;
      case 'RECENT': {
        // Messages no session has yet seen as \Recent (RFC 3501 section 6.3.10).
        const n =
          mb.recentUid < mb.uidNext ? (await mail.store.listMessages(mb.id, { fromUid: mb.recentUid })).length : 0;
        parts.push(`RECENT ${n}`);
        break;
      }
      case 'HIGHESTMODSEQ':
        parts.push(`HIGHESTMODSEQ ${mb.modseq}`);
        break;
      case 'MAILBOXID':
        parts.push(`MAILBOXID (${mailboxObjectId(mb)})`);
        break;
      case 'APPENDLIMIT':
        parts.push(`APPENDLIMIT ${appendLimit}`);
        break;
    }
  }
  return parts.join(' ');
}

/**
 * Parses `(MESSAGES UNSEEN ...)` into upper-case item names; throws on unknown items. RECENT is an item of
 * IMAP4rev1 only: RFC 9051 section 9 status-att has no RECENT (appendix E item 12), so in a session that
 * enabled IMAP4rev2 it is as unknown as any other word.
 */
export function statusItemNames(items: { type: string; value?: unknown }[], rev2: boolean): string[] {
  const out: string[] = [];
  for (const it of items) {
    if (it.type !== 'atom') throw new ArgError('STATUS items are atoms');
    const n = String(it.value).toUpperCase();
    if (!(STATUS_ITEMS as readonly string[]).includes(n) || (rev2 && n === 'RECENT'))
      throw new ArgError(`unknown STATUS item ${n.slice(0, 20)}`);
    out.push(n);
  }
  if (out.length === 0) throw new ArgError('STATUS needs at least one item');
  return out;
}

/** INBOX first, then by name (a stable, readable order for LIST). */
export function listOrder(a: Mailbox, b: Mailbox): number {
  if (a.name === 'INBOX') return -1;
  if (b.name === 'INBOX') return 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
