// The servers a mail client is told about: public host name and ports from [client_setup], only for the
// protocols whose listener runs. Implicit TLS first: RFC 8314 section 3 prefers it to STARTTLS.
import type { Config } from '../config/schema.ts';

export type Protocol = 'imap' | 'pop3' | 'smtp';

export interface Endpoint {
  protocol: Protocol;
  host: string;
  port: number;
  /** 'tls': TLS from the first byte (993, 995, 465); 'starttls': upgraded on the plaintext port. */
  security: 'tls' | 'starttls';
  /** The RFC 6186 / RFC 8314 SRV service label. */
  srv: string;
}

/** Petrel's OpenID provider, for clients that sign in with OAuth 2.0 (the built-in public client). */
export interface OAuthSetup {
  issuer: string;
  clientId: string;
  scope: string;
}

export interface ClientSetup {
  host: string;
  displayName: string | null;
  endpoints: Endpoint[];
  /** Read per request: the default issuer is known only once the HTTP listener is bound. */
  oauth?: () => OAuthSetup | null;
}

export function clientSetup(config: Config): ClientSetup {
  const c = config.client_setup;
  const l = config.listeners;
  const host = (c.hostname || config.server.hostname).toLowerCase();
  const all: [boolean, Omit<Endpoint, 'host'>][] = [
    [l.imaps.enabled, { protocol: 'imap', port: c.imaps_port, security: 'tls', srv: '_imaps' }],
    [l.imap.enabled, { protocol: 'imap', port: c.imap_port, security: 'starttls', srv: '_imap' }],
    [l.pop3s.enabled, { protocol: 'pop3', port: c.pop3s_port, security: 'tls', srv: '_pop3s' }],
    [l.pop3.enabled, { protocol: 'pop3', port: c.pop3_port, security: 'starttls', srv: '_pop3' }],
    [l.submissions.enabled, { protocol: 'smtp', port: c.submissions_port, security: 'tls', srv: '_submissions' }],
    [l.submission.enabled, { protocol: 'smtp', port: c.submission_port, security: 'starttls', srv: '_submission' }],
  ];
  return {
    host,
    displayName: c.display_name || null,
    endpoints: all.filter(([on, e]) => on && e.port > 0).map(([, e]) => ({ ...e, host })),
  };
}

/** The first endpoint of a protocol (implicit TLS when both run). */
export function preferred(setup: ClientSetup, protocol: Protocol): Endpoint | null {
  return setup.endpoints.find((e) => e.protocol === protocol) ?? null;
}
