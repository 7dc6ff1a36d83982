// Delivery to one destination domain: its MX hosts in order, each address in turn, several messages per
// connection (RSET between), per-recipient outcomes. A session that fails before a transaction, or that
// the server ends (421, a drop), moves on to the next address or host; replies to MAIL, RCPT and DATA
// decide the recipients they answer.
import type { QueuedMessage, QueueEntry, Resolver } from '../core/ports.ts';
import type { SecureLookup } from '../dns/secure.ts';
import type { Logger } from '../telemetry/log.ts';
import { instruments } from '../telemetry/metrics.ts';
import { type DanePolicy, hostPolicy, mxSecure, tlsaString } from './dane/lookup.ts';
import { daneVerify, usableTlsa } from './dane/verify.ts';
import { mxAllowed, type StsPolicy } from './mta-sts/policy.ts';
import type { Outcome } from './policy.ts';
import { hostAddresses, type MxHost, routeDomain } from './routing.ts';
import { SmtpClient, SmtpSessionError } from './smtp-client.ts';
import { certificateFailure, type TlsSessionResult } from './tls-reports/session.ts';
import { transact } from './transaction.ts';

export interface DeliverDeps {
  resolver: Resolver;
  /** Port of remote SMTP servers (25). */
  port: number;
  heloName: string;
  /** Our own names, for MX loop detection. */
  selfNames: string[];
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** Wait for the reply to the final dot / last BDAT chunk (RFC 5321 section 4.5.3.2.6). */
  dataDoneTimeoutMs: number;
  startTls: boolean;
  ca?: string[];
  maxPerConnection: number;
  random?: () => number;
  log: Logger;
  /** The message content as queued (read from the blob store). */
  content(m: QueuedMessage): Promise<Buffer>;
  /** The MTA-STS policy of a recipient domain (RFC 8461), or null; absent: MTA-STS off. */
  mtaSts?: (domain: string) => Promise<StsPolicy | null>;
  /** Counts a session's TLS result for TLS reporting (RFC 8460); absent: not counted. */
  tlsReport?: (r: TlsSessionResult) => Promise<void>;
  /** DNSSEC-status lookups for DANE (RFC 7672); absent: DANE off. */
  dane?: SecureLookup;
  /** Destinations that get mail only over DANE-authenticated TLS (RFC 7672 section 6, queue.dane_required). */
  daneRequired?: (domain: string) => boolean;
}

/** Servers asked in one run for recipients that get a 4xx (Postfix smtp_mx_session_limit is 2). */
const SOFT_SERVERS = 2;

/** Sessions opened in plaintext after a failed handshake (already counted as that failure). */
const fallbacks = new WeakSet<SmtpClient>();

/** Why a session fails an MTA-STS policy (RFC 8461 section 4.2), or null when it validates. */
function stsMiss(c: SmtpClient): string | null {
  if (!c.tls) return 'the server offered no STARTTLS';
  if (!c.tls.verified) return `certificate not verified (${c.tls.verifyError})`;
  return null;
}

/** Whether this session may carry a REQUIRETLS message (RFC 8689 section 4.2.1); null when it may. */
function requireTlsMiss(m: QueuedMessage, c: SmtpClient): { status: string; text: string } | null {
  // A bounce (null reverse-path) is sent even where REQUIRETLS cannot be honoured (RFC 8689 section 5).
  if (!m.requireTls || m.from === '') return null;
  if (!c.tls) return { status: '5.7.10', text: 'REQUIRETLS: the server offered no TLS' };
  if (!c.tls.verified) return { status: '5.7.10', text: `REQUIRETLS: certificate not verified (${c.tls.verifyError})` };
  if (!c.caps.has('REQUIRETLS')) return { status: '5.7.30', text: 'REQUIRETLS: not supported by the server' };
  return null;
}

/**
 * Delivers the entries (all for `domain`) and returns an outcome per recipient id. When `signal` aborts
 * (shutdown), it stops between steps and returns only the outcomes it knows; the rest are not attempted.
 */
export async function deliverDomain(
  domain: string,
  entries: QueueEntry[],
  deps: DeliverDeps,
  signal?: AbortSignal,
  /** No new transaction starts after this time (the lease must not run out under a long run). */
  deadline = Number.POSITIVE_INFINITY,
  /** Told each message's outcomes as its transaction ends, while the run goes on (the runner records them). */
  settled?: (entry: QueueEntry, outcomes: Map<number, Outcome>) => void,
): Promise<Map<number, Outcome>> {
  // Notices are never sent: local mailboxes took their message when it arrived, and what they owe is the
  // "delivered" DSN (RFC 3461 section 5.2.3), which the runner makes as it records this outcome.
  if (entries.some((e) => e.message.notice)) {
    const rest = entries.filter((e) => !e.message.notice);
    const done = rest.length
      ? await deliverDomain(domain, rest, deps, signal, deadline, settled)
      : new Map<number, Outcome>();
    for (const e of entries)
      if (e.message.notice)
        for (const r of e.recipients)
          done.set(r.id, { kind: 'delivered', reply: '250 2.0.0 delivered to the mailbox' });
    return done;
  }
  // RFC 8689 section 4.2.2: "TLS-Required: No" messages go without the domain's TLS policy (STARTTLS is
  // still used when offered): delivered on their own, the others under the policy.
  if ((deps.mtaSts || deps.tlsReport || deps.dane) && entries.some((e) => e.message.tlsOptional)) {
    const rest = entries.filter((e) => !e.message.tlsOptional);
    const optional = entries.filter((e) => e.message.tlsOptional);
    const done = rest.length
      ? await deliverDomain(domain, rest, deps, signal, deadline, settled)
      : new Map<number, Outcome>();
    // RFC 8460 section 3: sessions carrying such messages (TLS reports) are not counted in the next report.
    const free = await deliverDomain(
      domain,
      optional,
      { ...deps, mtaSts: undefined, tlsReport: undefined, dane: undefined },
      signal,
      deadline,
      settled,
    );
    for (const [id, o] of free) done.set(id, o);
    return done;
  }
  const out = new Map<number, Outcome>();
  const all = (e: QueueEntry, o: Outcome) => {
    for (const r of e.recipients) if (!out.has(r.id)) out.set(r.id, o);
  };
  const route = await routeDomain(deps.resolver, domain, { selfNames: deps.selfNames, random: deps.random });
  if ('failure' in route) {
    const f = route.failure;
    for (const e of entries)
      all(e, { kind: f.permanent ? 'failed' : 'deferred', reply: f.text, status: f.status, remoteMta: null });
    return out;
  }
  let sts: StsPolicy | null = null;
  try {
    sts = deps.mtaSts ? await deps.mtaSts(domain) : null;
  } catch (e) {
    deps.log.warn({ domain, err: (e as Error).message }, 'MTA-STS: policy lookup failed; delivering without');
  }
  const enforce = sts?.mode === 'enforce';
  // RFC 7672 section 2.2.1: DANE applies to MX hosts only when the MX RRset (or its denial, for a domain
  // that is its own server) is DNSSEC-secure; a failed lookup delays the mail (section 2.1.2).
  let daneDomain = false;
  if (deps.dane && !route.hosts[0]?.literal) {
    try {
      daneDomain = await mxSecure(deps.dane, domain);
    } catch (e) {
      const text = `DANE: DNSSEC lookup of the MX of ${domain} failed (${(e as Error).message})`;
      for (const en of entries) all(en, { kind: 'deferred', reply: text, status: '4.4.3', remoteMta: null });
      return out;
    }
  }
  // Section 6: mandatory DANE for this destination: an unsigned MX RRset means no delivery at all.
  const required = !!deps.dane && !!deps.daneRequired?.(domain);
  if (required && !daneDomain) {
    const reason = 'DANE is required for this destination but its MX records are not DNSSEC-signed';
    await deps.tlsReport?.({ domain, policy: null, failure: { type: 'dane-required', reason } });
    for (const en of entries)
      all(en, { kind: 'deferred', reply: `DANE: ${domain}: ${reason}`, status: '4.7.5', remoteMta: null });
    return out;
  }
  let pending = [...entries];
  /** Servers that deferred (4xx) some recipients of a message in this run. */
  const softTries = new Map<QueuedMessage, number>();
  /** Entries no session so far could take for REQUIRETLS reasons, with the last reason. */
  const tlsMisses = new Map<QueueEntry, { status: string; text: string }>();
  const noAnswer = { text: `no mail server for ${domain} answered`, status: '4.4.1', remoteMta: null as string | null };
  let lastError = noAnswer;
  /** An MX host left out by an enforced MTA-STS policy: the reason when no host was tried at all. */
  let stsSkipped: typeof noAnswer | null = null;
  let anyAddress = false;
  /** Hosts DNS says have no address (NXDOMAIN, or no A/AAAA), not a lookup that failed for now. */
  let unresolvable = 0;
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    current?.close();
  };
  let current: SmtpClient | null = null;
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) aborted = true;
  /** Past the deadline the rest is left unsettled: released, and taken up again by the next lease. */
  let late = false;
  const stop = () => aborted || (late ||= Date.now() > deadline);
  const self = new Set(deps.selfNames.map((n) => n.toLowerCase().replace(/\.$/, '')));
  /** A most preferred MX turned out to be ourselves: every message left fails. */
  let loop: { text: string; status: string } | null = null;
  try {
    hosts: for (const host of route.hosts) {
      if (pending.length === 0 || stop()) break;
      // RFC 8461 sections 4.1 and 5: under "enforce" only the policy's MX hosts receive mail.
      if (sts && !mxAllowed(host.name, sts)) {
        const text = `MTA-STS: MX host ${host.name} is not in the policy of ${domain}`;
        await deps.tlsReport?.({
          domain,
          policy: sts,
          failure: { type: 'validation-failure', reason: 'mx host not in the MTA-STS policy', mx: host.name },
        });
        if (enforce) {
          stsSkipped ??= { text, status: '4.7.5', remoteMta: host.name };
          continue;
        }
        deps.log.info({ domain, host: host.name }, `${text} (testing mode: delivered anyway)`);
      }
      let addresses: string[];
      try {
        addresses = await hostAddresses(deps.resolver, host);
      } catch (e) {
        lastError = { text: (e as Error).message, status: '4.4.3', remoteMta: host.name };
        continue;
      }
      if (addresses.length === 0) {
        lastError = { text: `MX host ${host.name} has no address`, status: '4.4.4', remoteMta: host.name };
        unresolvable++;
        continue;
      }
      anyAddress = true;
      let dane: DanePolicy | null = null;
      if (deps.dane && daneDomain) {
        try {
          dane = await hostPolicy(deps.dane, domain, host.name, deps.port);
        } catch (e) {
          // Section 2.1.2: a host whose TLSA lookup fails is treated as unreachable.
          const reason = `TLSA lookup failed (${(e as Error).message})`;
          lastError = { text: `DANE: ${host.name}: ${reason}`, status: '4.4.3', remoteMta: host.name };
          await deps.tlsReport?.({ domain, policy: sts, failure: { type: 'dnssec-invalid', reason, mx: host.name } });
          continue;
        }
      }
      if (required && !dane?.records.some(usableTlsa)) {
        const reason = 'DANE is required for this destination but the host has no usable DNSSEC-signed TLSA records';
        lastError = { text: `DANE: ${host.name}: ${reason}`, status: '4.7.5', remoteMta: host.name };
        await deps.tlsReport?.({ domain, policy: sts, failure: { type: 'dane-required', reason, mx: host.name } });
        continue;
      }
      const danePolicy = dane && { base: dane.base, records: dane.records.map(tlsaString) };
      // Entries that already failed REQUIRETLS with this host's predecessors get another chance here.
      let forHost = [...pending];
      for (const address of addresses) {
        if (forHost.length === 0 || stop()) break;
        // Several sessions to one address when there are more messages than one connection carries.
        while (forHost.length > 0 && !stop()) {
          let client: SmtpClient;
          const tlsFailed = (reason: string) =>
            deps.tlsReport?.({
              domain,
              policy: sts,
              dane: danePolicy,
              failure: { type: 'validation-failure', reason, mx: host.name, receivingIp: address },
            }) ?? Promise.resolve();
          try {
            // Secure TLSA records are a promise of STARTTLS (section 2.2): no plaintext, whatever the config.
            client = await openSession(deps, host, address, signal, enforce || !!dane, tlsFailed, dane?.base);
          } catch (e) {
            lastError = sessionError(e, host, address);
            break; // next address
          }
          if (self.has(client.serverName)) {
            // RFC 5321 section 5.1: mail is never sent to ourselves. A server greeting with our own name is
            // us (an MX or address that leads back here); as Postfix: 5.4.6 from a most preferred MX, else
            // a temporary failure and the next one.
            client.close();
            const text = `mail for ${domain} loops back to myself`;
            deps.log.warn({ domain, host: host.name, address }, `${text}: the server answered EHLO with our name`);
            if (host.preference === route.hosts[0].preference) {
              loop = { text, status: '5.4.6' };
              break hosts;
            }
            lastError = { text, status: '4.4.6', remoteMta: host.name };
            break; // next address
          }
          const daneMiss = dane ? daneCheck(client, dane) : null;
          instruments.outboundSessions.add(1, {
            tls: !client.tls ? 'none' : client.tls.dane ? 'dane' : client.tls.verified ? 'verified' : 'unverified',
            policy: dane ? 'tlsa' : sts ? 'sts' : 'none',
            result: daneMiss?.type ?? (sts && stsMiss(client) ? 'sts-invalid' : 'ok'),
          });
          if (deps.tlsReport && (deps.startTls || enforce || dane) && !fallbacks.has(client)) {
            const type =
              daneMiss?.type ??
              (!client.tls
                ? ('starttls-not-supported' as const)
                : sts && !client.tls.verified
                  ? certificateFailure(client.tls.verifyError)
                  : null);
            const reason = daneMiss?.reason ?? client.tls?.verifyError ?? undefined;
            const where = { mx: host.name, receivingIp: address, sendingIp: client.localAddress };
            await deps.tlsReport({
              domain,
              policy: sts,
              dane: danePolicy,
              failure: type ? { type, reason, ...where } : null,
            });
          }
          if (daneMiss) {
            // Section 3.2: never to a server DANE does not authenticate; the next one, or the message waits.
            const text = `DANE: ${host.name}[${address}]: ${daneMiss.reason}`;
            lastError = { text, status: '4.7.5', remoteMta: host.name };
            deps.log.warn({ domain, host: host.name, address, why: daneMiss.reason }, 'DANE: authentication failed');
            client.close();
            break; // next address
          }
          if (client.tls?.dane)
            deps.log.info({ domain, host: host.name, address, usage: client.tls.dane }, 'DANE: server authenticated');
          const miss = sts ? stsMiss(client) : null;
          if (miss && enforce) {
            // Never in plaintext or to an unverified server under "enforce"; the message waits (section 5).
            lastError = { text: `MTA-STS: ${host.name}[${address}]: ${miss}`, status: '4.7.5', remoteMta: host.name };
            client.close();
            break; // next address
          }
          if (miss) deps.log.info({ domain, host: host.name, why: miss }, 'MTA-STS: validation failed (testing mode)');
          current = client;
          let sent = 0;
          let broken = false;
          /** The server ended the session after a transaction (a 421, RFC 5321 section 3.8, or a drop). */
          let closed = false;
          for (const e of [...forHost]) {
            if (stop()) break;
            if (sent >= deps.maxPerConnection) break;
            const miss = requireTlsMiss(e.message, client);
            if (miss) {
              tlsMisses.set(e, miss);
              forHost = forHost.filter((x) => x !== e);
              continue;
            }
            try {
              if (sent > 0) {
                // RFC 5321 section 4.1.1.5: a clean slate before the next transaction on a reused connection.
                const r = await client.command('RSET');
                if (r.code !== 250) throw new SmtpSessionError('io', `RSET: ${r.code}`);
              }
              const results = await transact(client, e, host.name, deps.content);
              for (const [id, o] of results) out.set(id, o);
              sent++;
              forHost = forHost.filter((x) => x !== e);
              // A 4xx is one server's answer, not the destination's: as Postfix does (smtp_rcpt_fail, up to
              // smtp_mx_session_limit servers), those recipients try the next MX host in this same run.
              const soft = e.recipients.filter((r) => results.get(r.id)?.kind === 'deferred');
              const tries = (softTries.get(e.message) ?? 0) + 1;
              softTries.set(e.message, tries);
              const again = soft.length > 0 && tries < SOFT_SERVERS;
              pending = pending.flatMap((x) =>
                x !== e ? [x] : again ? [{ message: x.message, recipients: soft }] : [],
              );
              // Recorded now only what this run has settled: recipients going on to the next MX are not (their
              // outcome there is; or, when no host is left, this one at the run's end).
              const final = again ? new Map([...results].filter(([, o]) => o.kind !== 'deferred')) : results;
              if (final.size) settled?.(e, final);
              tlsMisses.delete(e);
              if (!client.usable) {
                const o = [...results.values()].find((x) => x.kind === 'deferred');
                lastError = {
                  text: `${host.name}[${address}]: ${o?.reply ?? 'connection closed by the server'}`,
                  status: o?.kind === 'deferred' ? o.status : '4.4.2',
                  remoteMta: host.name,
                };
                closed = true;
                break;
              }
            } catch (err) {
              // The connection broke in a transaction: what it had not settled is retried later, not here
              // (the server may have taken the message just before it went).
              if (aborted) break;
              const text = `${host.name}[${address}]: ${(err as Error).message}`;
              all(e, { kind: 'deferred', reply: text, status: '4.4.2', remoteMta: host.name });
              lastError = { text, status: '4.4.2', remoteMta: host.name };
              forHost = forHost.filter((x) => x !== e);
              pending = pending.filter((x) => x !== e);
              broken = true;
              break;
            }
          }
          current = null;
          if (broken || aborted) client.close();
          else await client.quit();
          // A server that closed or broke the session is not called again in this run, once per message:
          // the rest go to the next address or host, else wait for their retry.
          if (broken || closed) break; // next address
          if (sent === 0) break; // nothing this server can take (REQUIRETLS): next host
        }
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (aborted || late) return out;
  if (stsSkipped && lastError === noAnswer) lastError = stsSkipped;
  for (const e of pending) {
    const miss = tlsMisses.get(e);
    if (loop) all(e, { kind: 'failed', reply: loop.text, status: loop.status, remoteMta: null });
    else if (miss) all(e, { kind: 'failed', reply: miss.text, status: miss.status, remoteMta: null });
    else if (!anyAddress && route.hosts.length === 1 && route.hosts[0].implicit && lastError.status === '4.4.4')
      // No MX and the domain has no address either: nowhere to deliver, ever (RFC 5321 section 5.1).
      all(e, { kind: 'failed', reply: `domain ${domain} has no mail server`, status: '5.1.2', remoteMta: null });
    else if (unresolvable === route.hosts.length)
      // RFC 5321 section 5.1: MX records none of which is usable "MUST be reported as an error" (Postfix: 5.4.4).
      all(e, { kind: 'failed', reply: `no MX host of ${domain} has an address`, status: '5.4.4', remoteMta: null });
    else all(e, { kind: 'deferred', reply: lastError.text, status: lastError.status, remoteMta: lastError.remoteMta });
  }
  return out;
}

/**
 * Opens a session; a failed STARTTLS handshake is retried once in plaintext (RFC 7435 opportunistic), except
 * under an enforced MTA-STS policy, which also asks for STARTTLS whatever queue.starttls says.
 */
async function openSession(
  deps: DeliverDeps,
  host: MxHost,
  address: string,
  signal: AbortSignal | undefined,
  requireTls = false,
  /** Told of a failed TLS handshake (TLS reporting). */
  tlsFailed?: (reason: string) => Promise<void>,
  /** SNI other than the MX name (a DANE TLSA base domain). */
  servername?: string,
): Promise<SmtpClient> {
  const opts = {
    signal,
    address,
    port: deps.port,
    hostname: host.name,
    servername,
    heloName: deps.heloName,
    connectTimeoutMs: deps.connectTimeoutMs,
    commandTimeoutMs: deps.commandTimeoutMs,
    dataDoneTimeoutMs: deps.dataDoneTimeoutMs,
    startTls: deps.startTls || requireTls,
    ca: deps.ca,
  };
  try {
    return await SmtpClient.open(opts);
  } catch (e) {
    if (!(e instanceof SmtpSessionError) || e.stage !== 'tls') throw e;
    await tlsFailed?.(e.message);
    if (!deps.startTls || requireTls) throw e;
    deps.log.info({ host: host.name, address, err: e.message }, 'STARTTLS failed; retrying without TLS');
    const plain = await SmtpClient.open({ ...opts, startTls: false });
    fallbacks.add(plain);
    return plain;
  }
}

/**
 * Applies a host's DANE policy to an open session: null when it may carry mail (authenticated, or only
 * unusable records and TLS), else why not. Authentication marks the session verified, which is what
 * MTA-STS and REQUIRETLS ask (RFC 8461 section 2: DANE is not overridden by MTA-STS; RFC 8689 4.2.1).
 */
function daneCheck(
  client: SmtpClient,
  dane: DanePolicy,
): {
  type: 'starttls-not-supported' | 'tlsa-invalid' | 'certificate-host-mismatch' | 'certificate-expired';
  reason: string;
} | null {
  if (!client.tls) return { type: 'starttls-not-supported', reason: 'the server offered no STARTTLS' };
  // RFC 7672 section 2.2: secure but unusable records ask for encryption, not authentication.
  if (!dane.records.some(usableTlsa)) return null;
  const v = daneVerify(client.tls.chain, dane.records, dane.names);
  if (!v.ok) return v;
  client.tls.verified = true;
  client.tls.verifyError = null;
  client.tls.dane = v.usage;
  return null;
}

function sessionError(e: unknown, host: MxHost, address: string) {
  const text = `${host.name}[${address}]: ${(e as Error).message}`;
  const stage = e instanceof SmtpSessionError ? e.stage : 'io';
  return { text, status: stage === 'connect' ? '4.4.1' : '4.4.2', remoteMta: host.name };
}
