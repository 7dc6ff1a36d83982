// SUBSCRIBE and UNSUBSCRIBE (RFC 9051 sections 6.3.7 and 6.3.8). Names need not exist.
import { mailboxArg } from '../args.ts';
import type { Handler } from '../commands.ts';

export const subscribe: Handler = async (s, cmd) => {
  await s.mail.store.setSubscribed(s.accountId, mailboxArg(cmd.args[0], s.utf8), true);
  return { status: 'OK', text: 'SUBSCRIBE completed' };
};

export const unsubscribe: Handler = async (s, cmd) => {
  await s.mail.store.setSubscribed(s.accountId, mailboxArg(cmd.args[0], s.utf8), false);
  return { status: 'OK', text: 'UNSUBSCRIBE completed' };
};
