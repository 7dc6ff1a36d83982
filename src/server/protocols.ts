// Which protocol server starts each listener. Each protocol registers its starter here, one line each.
import { startSmtpListener } from '../smtp/listener.ts';
import type { ListenerName, ListenerStarter } from './serve.ts';

export const PROTOCOL_STARTERS: Partial<Record<ListenerName, ListenerStarter>> = {
  smtp: startSmtpListener,
  submission: startSmtpListener,
  submissions: startSmtpListener,
  lmtp: startSmtpListener,
  // imap, imaps: src/imap (issue 4)
  // pop3, pop3s: src/pop3 (issue 5)
};
