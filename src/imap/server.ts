// The IMAP listeners (143 with STARTTLS, 993 implicit TLS; RFC 9051, RFC 8314): one ImapSession per
// connection, one event hub for all of them.
import { Connection } from '../net/connection.ts';
import { startListener } from '../net/listener.ts';
import type { ReaderLimits } from '../protocol/imap/reader.ts';
import type { App } from '../server/app.ts';
import type { ListenerStarter } from '../server/serve.ts';
import { AccountHub } from './hub.ts';
import type { SearchEngine } from './search/api.ts';
import { searchEngine } from './search/index.ts';
import { type ImapContext, ImapSession } from './session.ts';

/** The engine SEARCH, SORT and THREAD use. */
const ENGINE: SearchEngine = searchEngine;

const hubs = new WeakMap<App, AccountHub>();

export function imapContext(app: App): ImapContext {
  let hub = hubs.get(app);
  if (!hub) {
    hub = new AccountHub(app.events);
    hubs.set(app, hub);
  }
  const cfg = app.config.imap;
  const limits: ReaderLimits = {
    maxDepth: 16,
    maxValues: 100000,
    maxLine: cfg.max_line_length,
    maxLiteral: 1024 * 1024,
    maxAppendLiteral: cfg.max_message_size,
    maxCommandLiterals: 4 * 1024 * 1024,
  };
  return {
    mail: app.mail,
    auth: app.auth,
    hub,
    search: ENGINE,
    log: app.log,
    tls: () => app.tls(),
    allowPlaintextLoopback: cfg.allow_plaintext_loopback,
    limits,
    appendLimit: cfg.max_message_size,
    hostname: app.config.server.hostname,
    idleTimeoutMs: cfg.idle_timeout_s * 1000,
    preauthTimeoutMs: cfg.preauth_timeout_s * 1000,
  };
}

export const startImap: ListenerStarter = async (app, name, cfg) => {
  const ctx = imapContext(app);
  const implicit = name === 'imaps';
  const tls = implicit ? await app.tls() : undefined;
  return startListener({
    name,
    host: cfg.bind,
    port: cfg.port,
    tls,
    maxConnections: app.config.imap.max_connections,
    maxConnectionsPerIp: app.config.imap.max_connections_per_ip,
    connectionRatePerIp: app.config.security.connection_rate_per_ip,
    log: app.log,
    onConnection(socket) {
      const session = new ImapSession(new Connection(socket), ctx);
      session.run().catch((err) => session.log.error({ err }, 'imap session crashed'));
      return session;
    },
    onRefused(socket) {
      socket.write('* BYE Too many connections\r\n');
    },
  });
};
