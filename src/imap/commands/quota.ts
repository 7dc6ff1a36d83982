// QUOTA (RFC 9208): one quota root per account, "" , with STORAGE (KiB) and MESSAGE resources;
// the tightest of account, domain and tenant limits is reported. SETQUOTA is for administrators.

import { mailboxName } from '../../protocol/imap/encode.ts';
import { ArgError, mailboxArg, text } from '../args.ts';
import type { Handler } from '../commands.ts';
import type { ImapSession } from '../session.ts';

async function quotaLine(s: ImapSession): Promise<string> {
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
  const parts: string[] = [];
  if (storage) parts.push(`STORAGE ${storage[0]} ${storage[1]}`);
  if (messages) parts.push(`MESSAGE ${messages[0]} ${messages[1]}`);
  return `* QUOTA "" (${parts.join(' ')})\r\n`;
}

export const getquota: Handler = async (s, cmd) => {
  if (text(cmd.args[0], 'a quota root') !== '')
    return { status: 'NO', code: 'NONEXISTENT', text: 'No such quota root' };
  s.push(await quotaLine(s));
  return undefined;
};

export const getquotaroot: Handler = async (s, cmd) => {
  const name = mailboxArg(cmd.args[0], s.utf8);
  const mb = await s.mail.store.getMailbox(s.accountId, name);
  if (!mb) return { status: 'NO', code: 'NONEXISTENT', text: 'No such mailbox' };
  s.push(`* QUOTAROOT ${mailboxName(mb.name, s.utf8)} ""\r\n`);
  s.push(await quotaLine(s));
  return undefined;
};

export const setquota: Handler = async (_s, cmd) => {
  if (cmd.args.length !== 2) throw new ArgError('SETQUOTA takes a root and a resource list');
  return { status: 'NO', code: 'NOPERM', text: 'Quotas are set by the administrator' };
};
