// QUOTA (RFC 9208): one quota root per account, "" , with STORAGE (KiB) and MESSAGE resources;
// the tightest of account, domain and tenant limits is reported. SETQUOTA is for administrators.

import { mailboxName } from '../../protocol/imap/encode.ts';
import { ArgError, mailboxArg, text } from '../args.ts';
import type { Handler } from '../commands.ts';
import type { ImapSession } from '../session.ts';

/** The QUOTA response for the root "", or null when no level has a limit (then there is no root). */
async function quotaLine(s: ImapSession): Promise<string | null> {
  const q = await s.mail.quota(s.accountId);
  let storage: [number, number] | null = null;
  let messages: [number, number] | null = null;
  for (const f of [q.account, q.domain, q.tenant]) {
    if (f.limitBytes !== null) {
      const cand: [number, number] = [Math.ceil(f.usedBytes / 1024), Math.floor(f.limitBytes / 1024)];
      if (!storage || cand[1] - cand[0] < storage[1] - storage[0]) storage = cand;
    }
    if (f.limitMessages !== null) {
      const cand: [number, number] = [f.usedMessages, f.limitMessages];
      if (!messages || cand[1] - cand[0] < messages[1] - messages[0]) messages = cand;
    }
  }
  if (!storage && !messages) return null;
  const parts: string[] = [];
  if (storage) parts.push(`STORAGE ${storage[0]} ${storage[1]}`);
  if (messages) parts.push(`MESSAGE ${messages[0]} ${messages[1]}`);
  return `* QUOTA "" (${parts.join(' ')})\r\n`;
}

export const getquota: Handler = async (s, cmd) => {
  const line = text(cmd.args[0], 'a quota root') === '' ? await quotaLine(s) : null;
  if (!line) return { status: 'NO', code: 'NONEXISTENT', text: 'No such quota root' };
  s.push(line);
  return undefined;
};

export const getquotaroot: Handler = async (s, cmd) => {
  const name = mailboxArg(cmd.args[0], s.utf8);
  const mb = await s.mail.store.getMailbox(s.accountId, name);
  if (!mb) return { status: 'NO', code: 'NONEXISTENT', text: 'No such mailbox' };
  const line = await quotaLine(s);
  s.push(`* QUOTAROOT ${mailboxName(mb.name, s.utf8)}${line ? ' ""' : ''}\r\n`);
  if (line) s.push(line);
  return undefined;
};

export const setquota: Handler = async (_s, cmd) => {
  if (cmd.args.length !== 2) throw new ArgError('SETQUOTA takes a root and a resource list');
  return { status: 'NO', code: 'NOPERM', text: 'Quotas are set by the administrator' };
};
