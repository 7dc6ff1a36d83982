// IMAP URLs naming a message or part on this server (RFC 5092), as CATENATE's URL parts use them
// (RFC 4469 section 3): "/INBOX;UIDVALIDITY=785799047/;UID=113330/;SECTION=1.5.9/;PARTIAL=0.1024", or the
// same path in an absolute "imap://user@host/..." URL. Parsing is pure; resolving reads the data as
// `UID FETCH uid BODY.PEEK[section]<partial>` would, from the logged-in user's own mailboxes only.
import type { MailService } from '../mailbox/service.ts';
import { parseSection, type SectionText } from '../protocol/imap/fetch-items.ts';
import { canonicalMailbox } from './args.ts';
import { filterHeader, planSection, type SectionPlan } from './fetch/sections.ts';

export interface MessageUrl {
  /** The user in an absolute URL's authority (percent-decoded), if any. */
  user: string | null;
  mailbox: string;
  uidValidity: number | null;
  uid: number;
  section: { part: number[]; text: SectionText; fields: string[] } | null;
  partial: { offset: number; length: number | null } | null;
}

const NZ = /^[1-9]\d{0,9}$/;

function decode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/**
 * The userinfo without its ";AUTH=..." (what /;auth=.*$/i removed). Only an ";AUTH=" after the last line
 * terminator can reach the end ("." stops at one), so the search starts there: the regex alone retried from
 * every ";AUTH=" of a long run followed by a line break, quadratic in the URL.
 */
export function withoutAuth(userinfo: string): string {
  let from = 0;
  for (const t of ['\n', '\r', '\u2028', '\u2029']) from = Math.max(from, userinfo.lastIndexOf(t) + 1);
  const auth = /;auth=/gi;
  auth.lastIndex = from;
  const m = auth.exec(userinfo);
  return m ? userinfo.slice(0, m.index) : userinfo;
}

/** The URL's parts, or null when it is not an IMAP URL naming one message (or part) by UID. */
export function parseMessageUrl(url: string): MessageUrl | null {
  let user: string | null = null;
  let path = url;
  const abs = /^imap:\/\/([^/]*)(\/.*)$/i.exec(url);
  if (abs) {
    const at = abs[1].lastIndexOf('@');
    if (at >= 0) {
      // "user;AUTH=mech@host": only the user matters here (the session is already authenticated).
      const u = decode(withoutAuth(abs[1].slice(0, at)));
      if (u === null) return null;
      user = u;
    }
    path = abs[2];
  }
  if (!path.startsWith('/')) return null; // relative references need a base URL, which CATENATE does not give
  // The mailbox may hold "/" (its hierarchy separator; RFC 5092 bchar), so the parts after it are found
  // by "/;", which a mailbox name cannot hold (";" is percent-encoded there).
  const rest = path.slice(1);
  const cut = rest.indexOf('/;');
  const first = cut < 0 ? rest : rest.slice(0, cut);
  const segments =
    cut < 0
      ? []
      : rest
          .slice(cut + 1)
          .split('/;')
          .map((x, i) => (i === 0 ? x : `;${x}`));
  const semi = first.indexOf(';');
  const box = decode(semi < 0 ? first : first.slice(0, semi));
  if (!box) return null;
  let uidValidity: number | null = null;
  if (semi >= 0) {
    const m = /^;UIDVALIDITY=(\d+)$/i.exec(first.slice(semi));
    if (!m || !NZ.test(m[1]) || Number(m[1]) > 0xffffffff) return null;
    uidValidity = Number(m[1]);
  }
  const params = new Map<string, string>();
  const order = ['UID', 'SECTION', 'PARTIAL'];
  let last = -1;
  for (const seg of segments) {
    const m = /^;([A-Z]+)=(.*)$/i.exec(seg);
    if (!m) return null;
    const key = m[1].toUpperCase();
    const at = order.indexOf(key);
    if (at <= last) return null; // unknown (URLAUTH, EXPIRE...), repeated or out of order
    last = at;
    params.set(key, m[2]);
  }
  const uid = params.get('UID');
  if (uid === undefined || !NZ.test(uid) || Number(uid) > 0xffffffff) return null;
  let section: MessageUrl['section'] = null;
  const spec = params.get('SECTION');
  if (spec !== undefined) {
    const text = decode(spec);
    section = text === null ? null : parseSection(text);
    if (!section) return null;
  }
  let partial: MessageUrl['partial'] = null;
  const range = params.get('PARTIAL');
  if (range !== undefined) {
    const m = /^(\d{1,10})(?:\.([1-9]\d{0,9}))?$/.exec(range);
    if (!m) return null;
    partial = { offset: Number(m[1]), length: m[2] === undefined ? null : Number(m[2]) };
  }
  return { user, mailbox: canonicalMailbox(box), uidValidity, uid: Number(uid), section, partial };
}

/** The data a URL names: its exact length, known before the octets are read. */
export interface UrlData {
  size: number;
  read(): Promise<Buffer>;
  /** Octets already read and scanned to find it: the whole header a HEADER.FIELDS section is filtered from. */
  scanned: number;
}

/**
 * Where the octets a URL names are in the account's mailboxes, or null when it names nothing there (no
 * such mailbox, UIDVALIDITY changed, no such UID or part, another user): the caller answers [BADURL].
 * Only a HEADER.FIELDS section is read here (its length is known after filtering); any other is read
 * when the caller asks, so a caller can weigh sizes before holding any of the data.
 */
export async function locateMessageUrl(
  mail: MailService,
  account: { id: number; address: string },
  url: MessageUrl,
): Promise<UrlData | null> {
  if (url.user !== null && url.user.toLowerCase() !== account.address.toLowerCase()) return null;
  const mb = await mail.store.getMailbox(account.id, url.mailbox);
  if (!mb || (url.uidValidity !== null && url.uidValidity !== mb.uidValidity)) return null;
  const [rec] = await mail.store.listMessages(mb.id, { uids: [url.uid] });
  if (!rec || rec.uid !== url.uid) return null;
  const src = await mail.source(rec);
  let plan: SectionPlan = { start: 0, end: src.size, fields: null };
  if (url.section) {
    const item = { ...url.section, kind: 'section' as const, binary: false, peek: true, partial: null, label: '' };
    const p = planSection(src.root, item, src.size);
    if (!p) return null;
    plan = p;
  }
  const cut = (length: number) => {
    const from = Math.min(url.partial?.offset ?? 0, length);
    const len = url.partial?.length;
    return [from, len == null ? length : Math.min(from + len, length)] as const;
  };
  // A filtered header is cut after filtering; any other section is read only in the range PARTIAL names.
  if (plan.fields) {
    const header = filterHeader(await src.read(plan.start, plan.end), plan.fields.names, plan.fields.not);
    const data = header.subarray(...cut(header.length));
    return { size: data.length, read: async () => data, scanned: plan.end - plan.start };
  }
  const [from, to] = cut(plan.end - plan.start);
  return { size: to - from, read: () => src.read(plan.start + from, plan.start + to), scanned: 0 };
}
