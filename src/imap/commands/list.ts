// LIST (RFC 9051 section 6.3.9) with LIST-EXTENDED (RFC 5258: selection SUBSCRIBED, REMOTE,
// RECURSIVEMATCH, SPECIAL-USE; return SUBSCRIBED, CHILDREN, SPECIAL-USE), LIST-STATUS (RFC 5819),
// and LSUB (RFC 3501 section 6.3.9).
import type { Mailbox } from '../../core/model.ts';
import { mailboxName } from '../../protocol/imap/encode.ts';
import type { ImapValue } from '../../protocol/imap/types.ts';
import { decodeMutf7 } from '../../protocol/imap/utf7.ts';
import { ArgError, atom, list as listArg, text } from '../args.ts';
import type { Handler, Reply } from '../commands.ts';
import { joinReference, listOrder, parents, patternMatcher, statusItemNames, statusItems } from '../mailboxes.ts';
import type { ImapSession } from '../session.ts';

interface ListOptions {
  subscribedOnly: boolean;
  recursiveMatch: boolean;
  specialUseOnly: boolean;
  returnSubscribed: boolean;
  returnSpecialUse: boolean;
  status: string[] | null;
}

function patternText(v: ImapValue, utf8: boolean): string {
  const raw = text(v, 'a mailbox pattern');
  if (utf8 || !/^[\x20-\x7e]*$/.test(raw)) return raw;
  return decodeMutf7(raw) ?? raw;
}

/**
 * Pattern octets times name octets one LIST may match. Each match is linear in both, but a command can
 * carry thousands of patterns and an account hundreds of long names: 500 patterns against 200 names of
 * 480 octets took 15 s of the event loop. About half a second of matching at most.
 */
const MAX_LIST_WORK = 50_000_000;

/** One LIST/LSUB line per name: real mailboxes, implied parents, subscribed names that do not exist. */
async function runList(
  s: ImapSession,
  ref: string,
  patterns: string[],
  o: ListOptions,
  verb: 'LIST' | 'LSUB',
): Promise<Reply | undefined> {
  if (verb === 'LIST' && patterns.length === 1 && patterns[0] === '' && !o.subscribedOnly) {
    // RFC 9051 section 6.3.9: an empty pattern asks for the delimiter.
    s.push('* LIST (\\Noselect) "/" ""\r\n');
    return;
  }
  const boxes = (await s.mail.store.listMailboxes(s.accountId)).sort(listOrder);
  const subs = new Set(await s.mail.store.listSubscriptions(s.accountId));
  const byName = new Map(boxes.map((b) => [b.name, b]));
  const names = new Set<string>();
  for (const b of boxes) {
    names.add(b.name);
    for (const p of parents(b.name)) names.add(p);
  }
  const bySubscription = o.subscribedOnly || verb === 'LSUB';
  if (bySubscription) for (const n of subs) names.add(n);
  /** Meets every selection option (RFC 5258 section 3.1: SUBSCRIBED; RFC 6154: SPECIAL-USE). */
  const selected = (n: string) =>
    (!bySubscription || subs.has(n)) && (!o.specialUseOnly || !!byName.get(n)?.specialUse);
  const hasChild = new Set<string>();
  const subscribedChild = new Set<string>();
  const selectedChild = new Set<string>();
  for (const n of names)
    for (const p of parents(n)) {
      hasChild.add(p);
      if (subs.has(n)) subscribedChild.add(p);
      if (selected(n)) selectedChild.add(p);
    }
  const criteria = [o.subscribedOnly && '"SUBSCRIBED"', o.specialUseOnly && '"SPECIAL-USE"'].filter(Boolean);
  const full = [...new Set(patterns.map((p) => joinReference(ref, p)))];
  let nameOctets = 0;
  for (const n of names) nameOctets += n.length;
  // RFC 5530 section 3: LIMIT, "an implementation limit of some kind".
  if (nameOctets * full.reduce((sum, p) => sum + p.length, 0) > MAX_LIST_WORK)
    return { status: 'NO', code: 'LIMIT', text: 'Too many or too long patterns for this many mailboxes' };
  const matchers = full.map((p) => patternMatcher(p));
  const sorted = [...names].sort((a, b) => (a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  for (const n of sorted) {
    const mb = byName.get(n);
    const subscribed = subs.has(n);
    const matched = matchers.some((m) => m(n));
    if (!matched) continue;
    // RFC 5258 section 3.5: with RECURSIVEMATCH a parent of selected names is listed with CHILDINFO.
    const childInfo = o.recursiveMatch && selectedChild.has(n);
    if (!selected(n) && !childInfo) {
      if (verb === 'LSUB' && subscribedChild.has(n) && patterns.some((p) => p.endsWith('%'))) {
        s.push(`* LSUB (\\Noselect) "/" ${mailboxName(n, s.utf8)}\r\n`);
      }
      continue;
    }
    const attrs: string[] = [];
    if (!mb) attrs.push(subscribed && !hasChild.has(n) ? '\\NonExistent' : '\\Noselect');
    if (verb === 'LIST') attrs.push(hasChild.has(n) ? '\\HasChildren' : '\\HasNoChildren');
    if (verb === 'LIST' && subscribed && (o.returnSubscribed || o.subscribedOnly)) attrs.push('\\Subscribed');
    if (mb?.specialUse && verb === 'LIST') attrs.push(mb.specialUse);
    const ext = childInfo ? ` ("CHILDINFO" (${criteria.join(' ')}))` : '';
    s.push(`* ${verb} (${attrs.join(' ')}) "/" ${mailboxName(n, s.utf8)}${ext}\r\n`);
    if (o.status && mb) await pushStatus(s, mb, o.status);
    await s.maybeFlush();
  }
}

async function pushStatus(s: ImapSession, mb: Mailbox, items: string[]) {
  s.push(`* STATUS ${mailboxName(mb.name, s.utf8)} (${await statusItems(s.mail, mb, items, s.ctx.appendLimit)})\r\n`);
}

export const list: Handler = async (s, cmd) => {
  const args = [...cmd.args];
  const o: ListOptions = {
    subscribedOnly: false,
    recursiveMatch: false,
    specialUseOnly: false,
    returnSubscribed: false,
    returnSpecialUse: false,
    status: null,
  };
  if (args[0]?.type === 'list') {
    for (const v of listArg(args.shift(), 'selection options')) {
      const opt = atom(v, 'a selection option').toUpperCase();
      if (opt === 'SUBSCRIBED') o.subscribedOnly = true;
      else if (opt === 'RECURSIVEMATCH') o.recursiveMatch = true;
      else if (opt === 'SPECIAL-USE') o.specialUseOnly = true;
      else if (opt !== 'REMOTE') throw new ArgError(`unknown selection option ${opt.slice(0, 20)}`);
    }
    // RFC 5258 section 3.1: not alone or only with REMOTE; any other selection option will do.
    if (o.recursiveMatch && !o.subscribedOnly && !o.specialUseOnly)
      throw new ArgError('RECURSIVEMATCH needs another selection option');
  }
  const ref = patternText(args.shift() ?? { type: 'atom', value: '' }, s.utf8);
  const pat = args.shift();
  if (!pat) throw new ArgError('LIST needs a reference and a pattern');
  const patterns = pat.type === 'list' ? pat.items.map((p) => patternText(p, s.utf8)) : [patternText(pat, s.utf8)];
  if (args.length) {
    if (atom(args.shift(), 'RETURN').toUpperCase() !== 'RETURN') throw new ArgError('expected RETURN');
    const opts = listArg(args.shift(), 'return options');
    for (let i = 0; i < opts.length; i++) {
      const opt = atom(opts[i], 'a return option').toUpperCase();
      if (opt === 'SUBSCRIBED') o.returnSubscribed = true;
      else if (opt === 'SPECIAL-USE') o.returnSpecialUse = true;
      else if (opt === 'STATUS') o.status = statusItemNames(listArg(opts[++i], 'status items'), s.rev2);
      else if (opt !== 'CHILDREN') throw new ArgError(`unknown return option ${opt.slice(0, 20)}`);
    }
    if (args.length) throw new ArgError('unexpected argument after RETURN');
  }
  return runList(s, ref, patterns, o, 'LIST');
};

export const lsub: Handler = async (s, cmd) => {
  if (cmd.args.length !== 2) throw new ArgError('LSUB takes a reference and a pattern');
  const ref = patternText(cmd.args[0], s.utf8);
  const pattern = patternText(cmd.args[1], s.utf8);
  return runList(
    s,
    ref,
    [pattern],
    {
      subscribedOnly: true,
      recursiveMatch: false,
      specialUseOnly: false,
      returnSubscribed: false,
      returnSpecialUse: false,
      status: null,
    },
    'LSUB',
  );
};
