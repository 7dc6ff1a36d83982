// ACME (RFC 8555) with acme-client: obtains a certificate for the configured names (and one for each extra
// name asked for, e.g. MTA-STS policy hosts), renews each when fewer
// than `renew_before_days` remain (checked every `check_interval`), answers HTTP-01 (RFC 8555 section 8.3)
// from the HTTP listener and TLS-ALPN-01 (RFC 8737) from the TLS listeners, and plugs the result into the
// certificate set so every listener serves it to new connections without a restart. Its state is in the
// store (storage.ts): in a cluster one node at a time orders (a lease), any node answers the CA's
// challenges, and every node serves what was issued (told at once, and re-read every few minutes).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import type { CertificateSet } from '../net/certificates.ts';
import type { Logger } from '../telemetry/log.ts';
import type { AcmeStore } from './storage.ts';

/** How often a node reads the stored certificates again, in case it missed another node's word. */
const SYNC_INTERVAL_MS = 5 * 60_000;

export interface AcmeOptions {
  directoryUrl: string;
  email: string;
  /** Names on the certificate; the first is its common name and directory. */
  domains: string[];
  challenge: 'http-01' | 'tls-alpn-01';
  /** PEM text of extra CAs trusted for the ACME server's own HTTPS. */
  caBundle: string | null;
  renewBeforeDays: number;
  checkIntervalMs: number;
  /** The account, certificates and challenge answers, in the store every node shares. */
  store: AcmeStore;
  /**
   * Held while ordering, so the nodes of a cluster do not order the same certificate at once (the CA
   * limits duplicate certificates): false when another node holds it (this node then orders nothing).
   */
  lease?: { acquire(): Promise<boolean>; release(): Promise<void> };
  /** Tells the other nodes that a certificate was stored (they read the store again). */
  announce?: () => void;
  /** Renew with the certificate's current key (acme.reuse_key), so DANE TLSA 3 1 1 records stay true. */
  reuseKey?: boolean;
  /**
   * Further names to certify each on a certificate of its own (the MTA-STS policy hosts of hosted
   * domains), asked at every check: one whose validation fails does not hold up the others.
   */
  extraNames?: () => Promise<string[]>;
}

export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

// acme-client sleeps out a 429's or 503's Retry-After inside the request and sends it again, five times:
// hours or days with the renewal held (and the process kept alive at shutdown), and past 24.8 days Node's
// timer fires at once, so the CA was asked six times in a row. Such an answer now ends the attempt (it is
// marked as out of retries before acme-client's interceptor sees it; a lost connection or a 5xx without
// Retry-After is still retried there, within seconds), and the manager asks the CA nothing before that time
// (RFC 8555 section 6.6). Response transforms run first, with the request's config as `this`.
/** The time (ms) before which a CA, by origin, asked not to be asked again: its last Retry-After. */
const retryAfter = new Map<string, number>();
const transforms = acme.axios.defaults.transformResponse;
acme.axios.defaults.transformResponse = [
  function (this: { url?: string; retryAttempt?: number }, data: unknown, headers: unknown, status?: number) {
    const header = (headers as Record<string, unknown> | undefined)?.['retry-after'];
    if ((status === 429 || status === 503) && header != null && this.url) {
      const h = String(header).trim();
      const at = /^\d+$/.test(h) ? Date.now() + Number(h) * 1000 : Date.parse(h);
      if (Number.isFinite(at)) {
        retryAfter.set(new URL(this.url).origin, at);
        this.retryAttempt = Number.MAX_SAFE_INTEGER;
      }
    }
    return data;
  },
  ...(Array.isArray(transforms) ? transforms : transforms ? [transforms] : []),
];

export class AcmeManager {
  private readonly opts: AcmeOptions;
  private readonly certs: CertificateSet;
  private readonly log: Logger;
  private readonly now: () => number;
  /** HTTP-01 token -> key authorization, while the CA validates (the store has them for the other nodes). */
  private readonly tokens = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  /** The certificates last put into the set, to replace it only when the store holds others. */
  private served = '';
  private running: Promise<boolean> | null = null;
  /** No request to the CA before this time (ms): the Retry-After of its last 429 or 503. */
  private notBefore = 0;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(opts: AcmeOptions, certs: CertificateSet, log: Logger, now: () => number = Date.now) {
    if (opts.domains.length === 0) throw new Error('acme.domains is empty');
    this.opts = opts;
    this.certs = certs;
    this.log = log.child({ component: 'acme' });
    this.now = now;
  }

  /** Checks now, then every check interval. Failures are logged (by ensure) and retried at the next check. */
  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.opts.checkIntervalMs);
    this.timer.unref();
    this.syncTimer = setInterval(() => void this.refresh().catch(() => {}), SYNC_INTERVAL_MS);
    this.syncTimer.unref();
  }

  /**
   * Serves what the store holds when it differs from what this node serves (another node's issuance);
   * resolves true when it replaced the set.
   */
  async refresh(): Promise<boolean> {
    const stored = await this.opts.store.certificates();
    const seen = stored.map((c) => c.cert).join('\n');
    if (seen === this.served) return false;
    this.certs.replace('acme', stored);
    this.served = seen;
    return true;
  }

  private check(): Promise<unknown> {
    return this.ensure().catch(() => {});
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.timer = null;
    this.syncTimer = null;
    this.retryTimer = null;
  }

  /** After a failure: a Retry-After the CA sent holds every request until then (sooner than the next check: a check then). */
  private noteRetryAfter(): string | undefined {
    const origin = new URL(this.opts.directoryUrl).origin;
    const at = retryAfter.get(origin);
    retryAfter.delete(origin);
    if (at === undefined || at <= this.now()) return undefined;
    this.notBefore = Math.max(this.notBefore, at);
    const wait = this.notBefore - this.now();
    if (this.timer && wait < this.opts.checkIntervalMs) {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.check(), wait);
      this.retryTimer.unref();
    }
    return new Date(this.notBefore).toISOString();
  }

  /**
   * Whether the stored certificate for `domains` is missing, lacks a name, or expires within the window:
   * `renew_before_days`, or the last third of its lifetime when that is shorter (a short-lived certificate,
   * e.g. 6 days, would otherwise be due again as soon as it is issued, at every check).
   */
  async needsCertificate(domains: string[] = this.opts.domains): Promise<boolean> {
    const primary = domains[0].toLowerCase();
    const stored = (await this.opts.store.certificates()).find((c) => c.names.includes(primary));
    if (!stored) return true;
    if (!domains.every((d) => stored.names.includes(d.toLowerCase()))) return true;
    const x = new X509Certificate(stored.cert);
    const notAfter = Date.parse(x.validTo);
    const window = Math.min(this.opts.renewBeforeDays * 86400_000, (notAfter - Date.parse(x.validFrom)) / 3);
    return notAfter - this.now() < window;
  }

  /**
   * Obtains or renews when needed (one request at a time, and in a cluster one node at a time); resolves
   * true when a new certificate was installed. A failure is logged here, once, and rejects.
   */
  ensure(): Promise<boolean> {
    this.running ??= (async () => {
      let leased = false;
      try {
        await this.refresh();
        if (this.now() < this.notBefore) {
          this.log.debug({ retryAfter: new Date(this.notBefore).toISOString() }, 'ACME: waiting for Retry-After');
          return false;
        }
        if (this.opts.lease) {
          if (!(await this.opts.lease.acquire())) {
            this.log.debug('ACME: another node is ordering; this one serves what it stores');
            return false;
          }
          leased = true;
          // Read again under the lease: the node that held it may have just stored what is due.
          await this.refresh();
        }
        await this.opts.store.pruneChallenges();
        let installed = false;
        if (await this.needsCertificate()) {
          try {
            await this.issue(this.opts.domains);
          } catch (e) {
            const retryAfter = this.noteRetryAfter();
            this.log.error({ err: e, domains: this.opts.domains, retryAfter }, 'ACME certificate request failed');
            throw e;
          }
          installed = true;
        }
        for (const name of (await this.opts.extraNames?.().catch(() => [])) ?? []) {
          if (this.now() < this.notBefore) break;
          if (!(await this.needsCertificate([name]))) continue;
          try {
            await this.issue([name]);
            installed = true;
          } catch (e) {
            const retryAfter = this.noteRetryAfter();
            this.log.error({ err: e, domains: [name], retryAfter }, 'ACME certificate request failed');
          }
        }
        return installed;
      } finally {
        if (leased) await this.opts.lease?.release().catch(() => {});
        this.running = null;
      }
    })();
    return this.running;
  }

  private async issue(domains: string[]): Promise<void> {
    const o = this.opts;
    const primary = domains[0].toLowerCase();
    if (o.caBundle) {
      // acme-client talks through its own axios instance: trust the configured CA for the ACME server.
      acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, o.caBundle] });
    }
    let accountKey = await o.store.accountKey();
    if (!accountKey) {
      accountKey = await acme.crypto.createPrivateRsaKey();
      await o.store.setAccountKey(accountKey);
    }
    // A known account is used as it is: registering again would turn into an account update, which an
    // ACME server refuses when it carries no change (no contact address: acme.email empty).
    const known = (await o.store.accountUrl(o.directoryUrl)) ?? undefined;
    const key0 = accountKey;
    const clientFor = (accountUrl?: string) =>
      new acme.Client({ directoryUrl: o.directoryUrl, accountKey: key0, accountUrl });
    // Key reuse (RFC 7672 section 9.2 key management): a new certificate for the same key keeps published
    // "3 1 1" TLSA records matching; a key that does not parse is replaced rather than stopping renewal.
    const old = o.reuseKey ? await o.store.certificateKey(primary) : null;
    const csrData = { commonName: domains[0], altNames: domains };
    const [key, csr] = await acme.crypto
      .createCsr(csrData, old ?? undefined)
      .catch(() => acme.crypto.createCsr(csrData));
    this.log.info({ domains, challenge: o.challenge }, 'requesting certificate');
    const order = (client: acme.Client) =>
      client.auto({
        csr,
        email: o.email || undefined,
        termsOfServiceAgreed: true,
        challengePriority: [o.challenge],
        // acme-client would check the challenge itself first through the system's DNS and port 80/443;
        // the CA's check is the one that counts, and our own answers are tested.
        skipChallengeVerification: true,
        // The answers go into the store before the CA is told they are ready: it may ask any node.
        challengeCreateFn: async (authz, challenge, keyAuthorization) => {
          if (challenge.type === 'http-01') {
            await o.store.setHttpToken(challenge.token, keyAuthorization);
            this.tokens.set(challenge.token, keyAuthorization);
          } else if ((challenge.type as string) === 'tls-alpn-01') {
            const [vkey, vcert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
            const pair = { cert: vcert.toString(), key: vkey.toString() };
            await o.store.setAlpnChallenge(authz.identifier.value, pair);
            this.certs.setAlpnChallenge(authz.identifier.value, pair);
          } else throw new Error(`unsupported challenge ${challenge.type}`);
        },
        challengeRemoveFn: async (authz, challenge) => {
          if (challenge.type === 'http-01') {
            this.tokens.delete(challenge.token);
            await o.store.setHttpToken(challenge.token, null);
          } else if ((challenge.type as string) === 'tls-alpn-01') {
            this.certs.setAlpnChallenge(authz.identifier.value, null);
            await o.store.setAlpnChallenge(authz.identifier.value, null);
          }
        },
      });
    let client = clientFor(known);
    let cert: string;
    try {
      cert = await order(client);
    } catch (e) {
      // The CA may have forgotten the account (a reset test CA): register anew, once. Other failures (a
      // challenge the CA could not validate) are not retried here: CAs limit failed validations.
      const origin = new URL(o.directoryUrl).origin;
      if (!known || retryAfter.has(origin) || !/account/i.test((e as Error).message)) throw e;
      this.log.warn({ err: (e as Error).message }, 'ACME: the known account failed; registering again');
      client = clientFor();
      cert = await order(client);
    }
    await o.store.putCertificate(primary, cert, key.toString());
    await o.store.setAccountUrl(o.directoryUrl, client.getAccountUrl());
    await this.refresh();
    o.announce?.();
    this.log.info({ domains, notAfter: this.certs.expiryOf('acme', primary) }, 'certificate installed');
  }

  /**
   * GET /.well-known/acme-challenge/<token> (RFC 8555 section 8.3): the key authorization, as text. A token
   * this node did not ask for is looked up in the store (another node's order: the CA reaches any node).
   */
  readonly httpChallenge = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const token = (req.url ?? '').split('?')[0].slice(ACME_CHALLENGE_PREFIX.length);
    let answer: string | null | undefined;
    // base64url (RFC 8555 section 8.1): anything else is no token of ours and costs no lookup.
    if ((req.method === 'GET' || req.method === 'HEAD') && /^[A-Za-z0-9_-]{1,256}$/.test(token))
      answer = this.tokens.get(token) ?? (await this.opts.store.httpToken(token).catch(() => null));
    if (answer == null) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(answer) });
    res.end(req.method === 'HEAD' ? undefined : answer);
  };
}

/** The CA bundle file's text, or null when none is configured. */
export function readCaBundle(path: string): string | null {
  return path ? readFileSync(path, 'utf8') : null;
}
