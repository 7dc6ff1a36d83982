// The composition root's second half: start the configured listeners, stop them cleanly.
import { ACME_CHALLENGE_PREFIX, type AcmeManager } from '../acme/manager.ts';
import { clientSetup } from '../client-setup/endpoints.ts';
import { clientSetupRoutes } from '../client-setup/routes.ts';
import { parseDuration } from '../config/duration.ts';
import { ConfigError } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { type Handler, type HttpListener, hstsValue, startHttp } from '../http/server.ts';
import type { Listener } from '../net/listener.ts';
import { mtaStsRoutes } from '../smtp/mta-sts-policy.ts';
import { pingClamdAtStart } from '../spam/checks/antivirus.ts';
import { metricsRoute, setupTelemetry, type Telemetry } from '../telemetry/export.ts';
import { watchStalls } from '../telemetry/stalls.ts';
import { acmeManager } from './acme.ts';
import type { App } from './app.ts';
import { watchCertificateFiles } from './certificates.ts';
import { PROTOCOL_STARTERS } from './protocols.ts';

export type ListenerName = Exclude<keyof Config['listeners'], 'http'>;

/** Starts one protocol listener (registered in protocols.ts). */
export type ListenerStarter = (app: App, name: ListenerName, cfg: { bind: string; port: number }) => Promise<Listener>;

export interface RunningServer {
  /** Bound port of every listener that runs, by name (http included). */
  ports: Record<string, number>;
  listeners: Listener[];
  http: HttpListener | null;
  /** The ACME client when [acme] is enabled (issuance and renewal run on their own). */
  acme: AcmeManager | null;
  /** Stops accepting, says goodbye to every session, stops the outbound queue, closes the store. */
  stop(): Promise<void>;
}

/** Starts everything `app` serves. When it throws, what it started is stopped again; `app` stays open. */
export async function serve(app: App, starters = PROTOCOL_STARTERS): Promise<RunningServer> {
  const cfg = app.config;
  const listeners: Listener[] = [];
  const ports: Record<string, number> = {};
  let http: HttpListener | null = null;
  let acme: AcmeManager | null = null;
  let telemetry: Telemetry | null = null;
  let unwatchTls = () => {};
  let unwatchStalls = () => {};
  /** Stops whatever has been started so far (all of it once serve has returned); the app stays open. */
  const halt = async (grace: number) => {
    unwatchStalls();
    acme?.stop();
    unwatchTls();
    await Promise.allSettled([
      ...listeners.map((l) => l.shutdown(grace)),
      http?.close(Math.min(grace, 2000)),
      // Deliveries in flight finish within the grace period or are released for retry.
      app.queue.stop(grace),
      app.dmarcReports.stop(),
      app.retention.stop(),
      app.junkReport.stop(),
      app.blobGc.stop(),
    ]);
    // The last spans and metrics go to the collector before the process may exit.
    await telemetry?.flush();
  };
  try {
    // Everything that reads the configuration (and can fail on it) runs before the first listener is bound;
    // whatever fails later stops what has started: a failed start never leaves a server half up.
    acme = cfg.acme.enabled ? await acmeManager(app) : null;
    // The instruments must be real ones from the first connection on.
    telemetry =
      cfg.metrics.enabled || cfg.otlp.endpoint
        ? setupTelemetry({
            prometheus: cfg.metrics.enabled,
            otlpEndpoint: cfg.otlp.endpoint,
            otlpHeaders: cfg.otlp.headers,
            otlpIntervalMs: parseDuration(cfg.otlp.interval, 'otlp.interval'),
            hostname: cfg.server.hostname,
          })
        : null;
    const metricsHandler = telemetry?.prometheus
      ? metricsRoute(cfg.metrics.token, telemetry.prometheus, cfg.oauth.trust_proxy)
      : null;
    unwatchTls = watchCertificateFiles(app, app.log);
    const stall = cfg.server.stall_warning_ms;
    if (stall > 0) unwatchStalls = watchStalls(app.log, { thresholdMs: stall, everyMs: 5000 });
    for (const [name, l] of Object.entries(cfg.listeners) as [
      ListenerName | 'http',
      { enabled: boolean; bind: string; port: number },
    ][]) {
      if (!l.enabled || name === 'http') continue;
      const start = starters[name];
      if (!start) continue; // protocol not built yet: listener simply absent
      const listener = await start(app, name, l).catch(bindFailure(name, l));
      listeners.push(listener);
      ports[name] = listener.port;
      app.log.info({ listener: name, address: l.bind, port: listener.port }, 'listening');
    }
    if (cfg.listeners.http.enabled) {
      const tls = cfg.listeners.http.tls ? await app.tls() : undefined;
      http = await startHttp(
        {
          host: cfg.listeners.http.bind,
          port: cfg.listeners.http.port,
          tls,
          trustProxy: cfg.oauth.trust_proxy,
          hsts: hstsValue(cfg.listeners.http.hsts_max_age_s, cfg.listeners.http.hsts_include_subdomains),
          limits: {
            maxConnections: cfg.listeners.http.max_connections,
            maxConnectionsPerIp: cfg.listeners.http.max_connections_per_ip,
            requestsPerMinutePerIp: cfg.listeners.http.requests_per_minute_per_ip,
          },
        },
        {
          ready: () => app.store.ping(),
          log: app.log,
          routes: new Map([
            ...clientSetupRoutes({
              setup: {
                ...clientSetup(cfg),
                oauth: () =>
                  cfg.oauth.builtin_clients
                    ? {
                        issuer: app.oauth.issuer,
                        clientId: 'thunderbird',
                        scope: `openid email offline_access ${cfg.oauth.mail_scope}`,
                      }
                    : null,
              },
              isLocalDomain: (d) => app.directory.isLocalDomain(d),
            }),
            // The MTA-STS policy of the hosted domains (RFC 8461), for hosts named mta-sts.<domain>.
            ...mtaStsRoutes({ config: cfg, isLocalDomain: (d) => app.directory.isLocalDomain(d) }),
            ...(metricsHandler ? [['/metrics', metricsHandler] as [string, Handler]] : []),
          ]),
          prefixes: [
            ...(acme ? [[ACME_CHALLENGE_PREFIX, acme.httpChallenge] as [string, Handler]] : []),
            ...app.oauth.mounts(),
          ],
        },
      ).catch(bindFailure('http', cfg.listeners.http));
      ports.http = http.port;
      app.oauth.listening(http.port);
      app.log.info({ listener: 'http', address: cfg.listeners.http.bind, port: http.port }, 'listening');
    }
    // Sign-in failures the other nodes of a cluster count (the brute-force limiter counts them all).
    app.hearPeers();
    // The outbound queue delivers from the start (mail queued before a restart goes out now).
    app.queue.start();
    // DMARC aggregate reports of ended periods (one node at a time sends them).
    app.dmarcReports.start();
    // Old mail in Junk and Trash goes after [retention] (one node at a time).
    app.retention.start();
    // The daily list of what the filter put in each Junk mailbox ([spam.junk_report], one node a day).
    app.junkReport.start();
    // Blobs nothing references any more: a few minutes after start, then hourly (one node at a time).
    app.blobGc.start();
    // A clamd that does not answer is worth a line in the log now, not at the first message.
    void pingClamdAtStart(cfg, app.log, app.resolver);
    void warnTrapsThatDeliver(app);
    void warnOldSearchIndex(app);
    void warnDomainsWithoutDkim(app);
    // Certificates are requested once the listeners that answer the challenges are up.
    acme?.start();
  } catch (e) {
    await halt(0);
    throw e;
  }
  let stopping: Promise<void> | null = null;
  return {
    ports,
    listeners,
    http,
    acme,
    stop() {
      stopping ??= halt(cfg.server.shutdown_grace_ms).then(() => app.close());
      return stopping;
    },
  };
}

/**
 * A listener that cannot bind (the port taken by another server, a privileged port without the right, an
 * address this host does not have) fails the start with one line naming the listener and the address.
 */
function bindFailure(name: string, l: { bind: string; port: number }): (e: unknown) => never {
  return (e) => {
    const x = e as NodeJS.ErrnoException;
    if (x?.syscall !== 'listen' && x?.syscall !== 'bind') throw e;
    const why: Record<string, string> = {
      EADDRINUSE: 'the port is in use by another process',
      EACCES: 'permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE)',
      EADDRNOTAVAIL: 'this host has no such address',
    };
    const host = l.bind.includes(':') ? `[${l.bind}]` : l.bind;
    throw new ConfigError(
      `listeners.${name}: cannot listen on ${host}:${l.port}: ${why[x.code ?? ''] ?? x.message} (${x.code})`,
    );
  };
}

/**
 * Mail stored by a version with an older search indexer (core/ports.ts SEARCH_INDEX_VERSION): SEARCH
 * BODY/TEXT can miss words in it until `petrel mail reindex` rebuilds its index. Said once at start; the
 * count is a range scan of an index, empty once everything is current.
 */
async function warnOldSearchIndex(app: App): Promise<void> {
  try {
    const n = await app.store.staleTextCount();
    if (n > 0)
      app.log.warn(
        { messages: n },
        `${n} stored message(s) have a search index from an older version: SEARCH BODY/TEXT may miss words in them until \`petrel mail reindex --all\` rebuilds it`,
      );
  } catch {
    // Advice only.
  }
}

/**
 * A hosted domain without a DKIM key sends its mail unsigned (DMARC then rests on SPF alone): a domain
 * added while dkim.sign was off, or whose keys were removed; said once at start.
 */
async function warnDomainsWithoutDkim(app: App): Promise<void> {
  if (!app.config.dkim.sign) return;
  try {
    for (const d of await app.store.listDomains())
      if ((await app.dkim.signingKeys(d.name)).length === 0)
        app.log.warn(
          { domain: d.name },
          'DKIM: no key for this domain, its mail goes out unsigned (`petrel dkim generate`, then publish its record)',
        );
  } catch {
    // Advice only.
  }
}

/**
 * A trap address that is also an account or alias takes that address's mail from the internet (the trap
 * wins): most likely a mistake in the configuration, so said once at start.
 */
async function warnTrapsThatDeliver(app: App): Promise<void> {
  if (!app.config.spam.enabled) return;
  for (const address of app.spam.trapAddresses)
    try {
      if (await app.directory.resolve(address))
        app.log.warn(
          { address },
          'spam.traps: this trap is also an account or alias; its mail from the internet is trapped, not delivered',
        );
    } catch {
      // The check is advice only.
    }
}
