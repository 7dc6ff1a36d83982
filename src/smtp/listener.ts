// Starts the SMTP-family listeners: MX (smtp), submission with STARTTLS, submissions with implicit TLS
// (RFC 8314) and LMTP (RFC 2033), each with the [smtp] limits and a 421 for refused connections.

import { type Listener, startListener } from '../net/listener.ts';
import type { App } from '../server/app.ts';
import type { ListenerName } from '../server/serve.ts';
import { submissionVirusScan } from '../spam/checks/antivirus.ts';
import { networkMatcher } from './policy.ts';
import { SendLimits } from './send-limits.ts';
import { SmtpSession } from './session.ts';
import type { Srs } from './srs.ts';
import type { SmtpDeps, SmtpKind } from './types.ts';

const KINDS: Partial<Record<ListenerName, { kind: SmtpKind; implicitTls: boolean }>> = {
  smtp: { kind: 'mx', implicitTls: false },
  submission: { kind: 'submission', implicitTls: false },
  submissions: { kind: 'submission', implicitTls: true },
  lmtp: { kind: 'lmtp', implicitTls: false },
};

export function smtpDeps(app: App, srs?: Srs): SmtpDeps {
  const cfg = app.config;
  return {
    mail: app.mail,
    directory: app.directory,
    auth: app.auth,
    outbound: app.outbound,
    hostname: cfg.server.hostname,
    postmasterDomain: cfg.bootstrap.domain,
    limits: cfg.smtp,
    trusted: networkMatcher(cfg.smtp.trusted_networks),
    tls: () => app.tls(),
    log: app.log,
    spam: app.spam,
    virusScan: submissionVirusScan({ config: cfg, resolver: app.resolver, log: app.log }),
    outboundScan: cfg.spam.outbound.enabled ? app.outboundScan : undefined,
    sendLimits: SendLimits.fromConfig(cfg, app.store.spam, app.log),
    srs,
    reports: cfg.smtp.read_reports ? app.incomingReports : undefined,
  };
}

export async function startSmtpListener(
  app: App,
  name: ListenerName,
  cfg: { bind: string; port: number },
): Promise<Listener> {
  const spec = KINDS[name];
  if (!spec) throw new Error(`${name} is not an SMTP listener`);
  const deps = smtpDeps(app, await app.srs());
  const tls = spec.implicitTls ? await app.tls() : undefined;
  return startListener({
    name,
    host: cfg.bind,
    port: cfg.port,
    tls,
    maxConnections: app.config.smtp.max_connections,
    maxConnectionsPerIp: app.config.smtp.max_connections_per_ip,
    connectionRatePerIp: app.config.security.connection_rate_per_ip,
    log: app.log,
    onConnection: (socket) => {
      const session = new SmtpSession(socket, deps, spec.kind);
      void session.run();
      return session;
    },
    onRefused: (socket, reason) => {
      const why =
        reason === 'per-ip'
          ? 'Too many connections from your address'
          : reason === 'rate'
            ? 'Connection rate limit exceeded'
            : 'Too many connections';
      socket.write(`421 4.7.0 ${app.config.server.hostname} ${why}, try again later\r\n`);
    },
  });
}
