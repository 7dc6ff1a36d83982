// Which protocol server starts each listener. Each protocol registers its starter here, one line each.
import { startImap } from '../imap/server.ts';
import type { ListenerName, ListenerStarter } from './serve.ts';

export const PROTOCOL_STARTERS: Partial<Record<ListenerName, ListenerStarter>> = {
  // smtp, submission, submissions, lmtp: src/smtp (issue 3)
  imap: startImap,
  imaps: startImap,
  // pop3, pop3s: src/pop3 (issue 5)
};
