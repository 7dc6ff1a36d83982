// Which protocol server starts each listener. Each protocol registers its starter here, one line each.

import { startImap } from '../imap/server.ts';
import { MaildropLocks } from '../pop3/locks.ts';
import { startPop3 } from '../pop3/server.ts';
import type { Pop3Deps } from '../pop3/session.ts';
import { nodeId } from '../queue/node-id.ts';
import { startSmtpListener } from '../smtp/listener.ts';
import type { App } from './app.ts';
import type { ListenerName, ListenerStarter } from './serve.ts';

/** One set of POP3 dependencies per app: pop3 and pop3s share the maildrop locks. */
const pop3Deps = new WeakMap<App, Promise<Pop3Deps>>();
function pop3DepsOf(app: App): Promise<Pop3Deps> {
  let d = pop3Deps.get(app);
  if (!d) {
    d = app.tls().then((tls) => ({
      mail: app.mail,
      directory: app.directory,
      auth: app.auth,
      log: app.log,
      config: app.config.pop3,
      tls,
      locks: new MaildropLocks(app.store.leases, app.log, undefined, nodeId(app.config)),
      connectionRatePerIp: app.config.security.connection_rate_per_ip,
    }));
    pop3Deps.set(app, d);
  }
  return d;
}

export const PROTOCOL_STARTERS: Partial<Record<ListenerName, ListenerStarter>> = {
  smtp: startSmtpListener,
  submission: startSmtpListener,
  submissions: startSmtpListener,
  lmtp: startSmtpListener,
  // imap, imaps: src/imap (issue 4)
  pop3: async (app, name, l) => startPop3(await pop3DepsOf(app), { name, ...l, host: l.bind, implicitTls: false }),
  pop3s: async (app, name, l) => startPop3(await pop3DepsOf(app), { name, ...l, host: l.bind, implicitTls: true }),
  // smtp, submission, submissions, lmtp: src/smtp (issue 3)
  imap: startImap,
  imaps: startImap,
  // pop3, pop3s: src/pop3 (issue 5)
};
